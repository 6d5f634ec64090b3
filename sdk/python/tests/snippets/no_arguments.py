from amp_protocol import AMP

amp = AMP()
