/**
 * Every runtime schema uses zod/mini, whose functions the Lambda bundle keeps only as
 * used (classic zod is whole, ~450 KB); this gives it the English messages classic zod
 * loads itself. Schema modules import it for that effect.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());
