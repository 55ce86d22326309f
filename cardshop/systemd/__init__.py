"""The one seam to systemd (sd_notify); it does nothing when not run by systemd."""
