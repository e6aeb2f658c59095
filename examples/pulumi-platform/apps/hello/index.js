'use strict';
/** Says hello to whoever is named in the event. */
exports.handler = async (event) => ({ message: `Hello, ${event?.name ?? 'world'}!` });
