'use strict';
// v1 as most users run it: aws-sdk v2's default agent (no keep-alive for http endpoints).
const v1 = require('./v1');

module.exports = { create: (config) => v1.create(config, { keepAlive: false }) };
