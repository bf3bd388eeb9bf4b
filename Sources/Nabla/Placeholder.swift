import CNablaKernels
enum _NablaPlaceholder {}
