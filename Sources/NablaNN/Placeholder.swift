// Placeholder until the NablaNN issue lands.
enum _NablaNNPlaceholder {}
