"""The PMIPv6 lab: namespaces, switches, controllers and scenarios (`p4mob lab`)."""
