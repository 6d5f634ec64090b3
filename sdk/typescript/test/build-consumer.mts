// Builds the consumer project of consumer.mts once per `npm run build:test`:
// the docs' snippets and the example agent must type-check against the
// built package, or the build fails with tsc's messages.
import { Consumer } from './consumer.mjs';

const consumer = await Consumer.build();
console.log(`consumer project built in ${consumer.dir}`);
