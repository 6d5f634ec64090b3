import { AMP } from '@amp-protocol/client';

const amp = new AMP(process.env.AMP_KEY);
