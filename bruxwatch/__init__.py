"""bruxwatch: measured, real-time jaw-clench (bruxism) EMG biofeedback."""

__version__ = "0.1.0"
