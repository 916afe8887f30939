//! Entry point: starts the client (app.ts) and registers the service worker (sw.js, written by
//! the build with the build hash so an upgrade never leaves a stale client cached).

import { App } from './app.ts';

new App().start();

if ('serviceWorker' in navigator && window.isSecureContext) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('sw.js').catch((e: unknown) => console.warn('service worker not registered', e));
  });
}
