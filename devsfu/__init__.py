"""devsfu: a LiveKit-compatible, audio-only media server for development and CI only."""
