// Placeholder until the NablaData issue lands.
enum _NablaDataPlaceholder {}
