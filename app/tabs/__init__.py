"""One module per tab of the browser app; each builds its part and wires its events."""
