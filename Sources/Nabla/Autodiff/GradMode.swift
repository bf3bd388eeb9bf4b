#if canImport(Glibc)
import Glibc
#endif

/// Whether ops record graph nodes on the current thread. Each thread has its own switch,
/// so turning recording off on one thread never affects another.

enum GradMode {
    // A thread-specific value: nil (the default) means enabled, any other value disabled.
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()
    private static var disabledMarker: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 1) }

    static var isEnabled: Bool {
        @inline(__always) get { pthread_getspecific(key) == nil }
    }

    static func set(_ enabled: Bool) {
        pthread_setspecific(key, enabled ? nil : disabledMarker)
    }

    static func with<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
        let before = isEnabled
        set(enabled)
        defer { set(before) }
        return try body()
    }
}

/// Runs `body` without recording a graph on this thread: for inference, evaluation and
/// optimizer updates. Tensors created inside do not require gradients.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.with(false, body)
}

/// Runs `body` with graph recording on, even inside `withoutGradients`.
public func withGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.with(true, body)
}

/// Whether ops on this thread currently record graph nodes.
public var isGradientRecordingEnabled: Bool { GradMode.isEnabled }
