// cronstrue, pinned in package.json and served from node_modules (api/routes/console.ts): its
// only build is UMD, which, imported as a module, sets globalThis.cronstrue.
import 'cronstrue';

export default globalThis.cronstrue;
