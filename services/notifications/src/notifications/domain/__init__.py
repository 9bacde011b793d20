"""Pure rules of the notifications service: no I/O, no clock, nothing imported from the rest of the service."""
