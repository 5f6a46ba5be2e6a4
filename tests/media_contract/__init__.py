"""One contract for the media interface, run against every implementation."""
