import Foundation
import Testing
@testable import NablaData

@Suite struct MNISTTests {
    @Test func bundledMNISTLoadsWithTheKnownCounts() throws {
        let start = Date()
        let mnist = try bundledMNIST.get()
        print("MNIST load: \(Date().timeIntervalSince(start)) s")
        #expect(mnist.training.count == 60_000)
        #expect(mnist.test.count == 10_000)
        #expect(mnist.validation.count == 0)
        #expect(mnist.training.height == 28 && mnist.training.width == 28)
        #expect(mnist.training.images.count == 60_000 * 784)
        #expect(mnist.training.labels[0] == 5)
        #expect(mnist.training.labelCounts() == [0: 5923, 1: 6742, 2: 5958, 3: 6131, 4: 5842,
                                                 5: 5421, 6: 5918, 7: 6265, 8: 5851, 9: 5949])
        #expect(mnist.test.labels[0] == 7)
        #expect(mnist.training.images.min() == 0)
        #expect(mnist.training.images.max() == 1)
        #expect(mnist.test.images.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}
