"""Motion: flow hints, the Eulerian motion field, Euler integration."""
