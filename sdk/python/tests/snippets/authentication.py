from amp_protocol import AMP
import os

amp = AMP(api_key=os.environ.get("AMP_API_KEY"))
