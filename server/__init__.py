"""The call server: auth, directory, signaling, call log, LiveKit tokens and rooms."""
