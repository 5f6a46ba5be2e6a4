"""The Android extension's Python side against a fake Flutter client."""
