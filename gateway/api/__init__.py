"""HTTP surfaces of the gateway other than the channels: units, operators, health."""
