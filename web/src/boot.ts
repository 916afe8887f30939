//! `boot.js`: the page's first script, loaded from the head of index.html ahead of the
//! stylesheet and of `app.js`, so the connection starts while the app still downloads
//! (early.ts).

import { startEarly } from './early.ts';

startEarly();
