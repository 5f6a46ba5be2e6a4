"""Echo cancellation for the desktop's devices: the livekit SDK's ``AudioProcessingModule``
between the microphone and the speaker (plus noise suppression and gain control)."""

from __future__ import annotations

import logging

import numpy as np

from voip_app.audio.base import FRAME_SAMPLES, SAMPLE_RATE, Frame

# The lines keep the logger name they had before this module was split from the devices.
log = logging.getLogger("voip_app.audio.devices")


class EchoCanceller:
    """One echo canceller shared by the capture and playback threads: the speaker's frames go
    in as the far end (:meth:`far`), the microphone's come out without their echo (:meth:`near`).
    """

    def __init__(self, *, noise_suppression: bool, auto_gain_control: bool) -> None:
        from livekit import rtc

        self._rtc = rtc
        self.apm = rtc.AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=noise_suppression,
            high_pass_filter=True,
            auto_gain_control=auto_gain_control,
        )
        self.output_delay_s = 0.0

    def near(self, pcm: Frame, input_delay_s: float) -> Frame:
        """A microphone frame, processed (as it was if the APM refuses it)."""
        frame = self._rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, FRAME_SAMPLES)
        try:
            self.apm.set_stream_delay_ms(int(max(input_delay_s + self.output_delay_s, 0) * 1000))
            self.apm.process_stream(frame)
        except RuntimeError:
            return pcm
        return np.frombuffer(frame.data, dtype=np.int16).copy()

    def far(self, pcm: Frame) -> None:
        """A frame the speaker plays: what the echo to remove sounds like."""
        frame = self._rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, FRAME_SAMPLES)
        try:
            self.apm.process_reverse_stream(frame)
        except RuntimeError:
            log.debug("APM reverse stream refused a frame")
