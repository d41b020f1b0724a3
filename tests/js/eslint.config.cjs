// ESLint (flat config) for the package's browser scripts, run by tests/test_js_lint.py with eslint from npm, installed
// at test time into a cache folder outside the repository. Self-contained (no plugins, no imports), so that it loads
// wherever eslint lives. The scripts are ES5 (no build step, plain <script> elements and one shared worker), strict in
// every function, and share globals across files: common.js defines `cjmSSE`, hub.js `Hub`, each other file its entry point.
'use strict';

const browser = ['window', 'self', 'document', 'location', 'navigator', 'console', 'setTimeout', 'clearTimeout', 'setInterval',
  'clearInterval', 'EventSource', 'EventTarget', 'Event', 'CustomEvent', 'MessageEvent', 'URL', 'BroadcastChannel', 'SharedWorker',
  'crypto', 'fetch', 'Request', 'Response', 'ReadableStream', 'TextEncoder', 'DOMException', 'DOMParser', 'AbortController',
  'sessionStorage', 'htmx'];
const es2015 = ['Promise', 'WeakMap', 'WeakSet', 'Reflect', 'Uint8Array'];
const shared = {cjmSSE: 'writable', Hub: 'readonly'};
const globals = Object.assign({}, shared, ...browser.concat(es2015).map(name => ({[name]: 'readonly'})));

module.exports = [
  {
    files: ['cjm_fasthtml_sse/js/*.js'],
    languageOptions: {ecmaVersion: 5, sourceType: 'script', globals},
    linterOptions: {reportUnusedDisableDirectives: 'error'},
    rules: {
      strict: ['error', 'function'],
      'no-undef': 'error',
      'no-unused-vars': ['error', {vars: 'local', args: 'none', caughtErrors: 'none'}],
      'no-redeclare': ['error', {builtinGlobals: false}],
      'no-shadow-restricted-names': 'error',
      'no-dupe-keys': 'error',
      'no-dupe-args': 'error',
      'no-duplicate-case': 'error',
      'no-unreachable': 'error',
      'no-unsafe-finally': 'error',
      'no-unsafe-negation': 'error',
      'no-self-assign': 'error',
      'no-self-compare': 'error',
      'no-cond-assign': 'error',
      'no-constant-condition': ['error', {checkLoops: false}],
      'no-empty': ['error', {allowEmptyCatch: false}],
      'no-func-assign': 'error',
      'no-global-assign': 'error',
      'no-inner-declarations': 'error',
      'no-sparse-arrays': 'error',
      'no-useless-escape': 'error',
      'no-use-before-define': ['error', {functions: false, classes: true, variables: false}],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-with': 'error',
      'no-var': 'off',
      'use-isnan': 'error',
      'valid-typeof': 'error',
      eqeqeq: ['error', 'always', {null: 'ignore'}],
    },
  },
];
