// The JavaScript development runtime (built once per toolchain with
// componentize-js): it implements the guest world by running the guest author's
// code, which the host hands over through `blueprint:dev/source` at run time, so an
// edit of the guest rebuilds nothing. The code arrives as one CommonJS bundle
// (esbuild strips TypeScript's types and bundles local imports); its
// `blueprint:cloud/*` imports are answered from the interfaces below.
import * as aws from "blueprint:cloud/aws@0.7.0";
import * as blueprints from "blueprint:cloud/blueprints@0.7.0";
import * as host from "blueprint:cloud/host@0.7.0";
import * as pagerduty from "blueprint:cloud/pagerduty@0.7.0";
import { modules, failed } from "blueprint:dev/source@0.1.0";

// Source written for 0.2.0 to 0.6.0 runs unchanged: each version since only
// added to it.
const PROVIDED = {
  "blueprint:cloud/aws@0.7.0": aws,
  "blueprint:cloud/blueprints@0.7.0": blueprints,
  "blueprint:cloud/host@0.7.0": host,
  "blueprint:cloud/pagerduty@0.7.0": pagerduty,
  "blueprint:cloud/aws@0.6.0": aws,
  "blueprint:cloud/blueprints@0.6.0": blueprints,
  "blueprint:cloud/host@0.6.0": host,
  "blueprint:cloud/pagerduty@0.6.0": pagerduty,
  "blueprint:cloud/aws@0.5.0": aws,
  "blueprint:cloud/blueprints@0.5.0": blueprints,
  "blueprint:cloud/host@0.5.0": host,
  "blueprint:cloud/pagerduty@0.5.0": pagerduty,
  "blueprint:cloud/aws@0.4.0": aws,
  "blueprint:cloud/blueprints@0.4.0": blueprints,
  "blueprint:cloud/host@0.4.0": host,
  "blueprint:cloud/pagerduty@0.4.0": pagerduty,
  "blueprint:cloud/aws@0.3.0": aws,
  "blueprint:cloud/host@0.3.0": host,
  "blueprint:cloud/pagerduty@0.3.0": pagerduty,
  "blueprint:cloud/aws@0.2.0": aws,
  "blueprint:cloud/host@0.2.0": host,
  "blueprint:cloud/pagerduty@0.2.0": pagerduty,
};

let guest = null;

function fail(message) {
  failed(String(message));
  throw new Error(String(message));
}

function load() {
  if (guest !== null) {
    return guest;
  }
  const list = modules();
  if (list.length === 0) {
    fail("the host sent no source");
  }
  const [name, code] = list[0];
  const module = { exports: {} };
  const require = (spec) => {
    if (Object.prototype.hasOwnProperty.call(PROVIDED, spec)) {
      return PROVIDED[spec];
    }
    fail(`${name} imports ${JSON.stringify(spec)}, which the development runtime does not provide (it provides ${Object.keys(PROVIDED).join(", ")})`);
  };
  let factory;
  try {
    factory = new Function("require", "module", "exports", `${code}\n//# sourceURL=${name}`);
  } catch (e) {
    fail(`${name}: ${e}`);
  }
  try {
    factory(require, module, module.exports);
  } catch (e) {
    fail(`${name} failed while loading: ${e}${e && e.stack ? `\n${e.stack}` : ""}`);
  }
  const exported = module.exports.blueprint;
  if (!exported || typeof exported.info !== "function" || typeof exported.paramsSchema !== "function" || typeof exported.run !== "function") {
    fail(`${name} must export const blueprint = { info, paramsSchema, run }`);
  }
  guest = exported;
  return guest;
}

export const blueprint = {
  info() {
    return load().info();
  },
  paramsSchema() {
    return load().paramsSchema();
  },
  run(params) {
    return load().run(params);
  },
};
