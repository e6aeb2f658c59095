import {
  AssignmentExpression,
  Expression,
  Function as FunctionNode,
  Identifier,
  Literal,
  MemberExpression,
  ModuleDeclaration,
  Node,
  ObjectExpression,
  parse,
  Program,
  Statement,
  UpdateExpression,
} from 'acorn';
import type { HandlerParameters } from '../constructs';
import type { ModuleKind } from './javascript-check';

/**
 * Largest module whose handler is read here, in UTF-8 bytes. The parse runs on the API's event
 * loop: acorn takes about 300 ms for 900 KiB on a loaded machine (V8's own syntax check 45 ms),
 * some 20 ms at this size. A larger module (a bundle, say) is left to the bootstrap's check.
 */
export const MAX_HANDLER_MODULE_BYTES = 64 * 1024;

/** What the module binds an export to: a function, something unknown, or nothing yet. */
type Binding = FunctionNode | 'unknown' | undefined;

/**
 * The parameters of the function a Node module exports as `name`, read from its source by
 * acorn (nothing runs), when the module's top level settles them: the last top-level
 * `exports.name = `, `module.exports.name = `, `module.exports = { name }` (CommonJS) or
 * `export function name`, `export const name = `, `export { local as name }` (ES module) whose
 * value is a function or arrow expression, or the name of a top-level `function` or `const`
 * function never assigned again. Anything else (`module.exports.handler = make()`, an
 * assignment inside a block or function, a re-export, a module over
 * {@link MAX_HANDLER_MODULE_BYTES}) is no verdict: the bootstrap checks the function it loads.
 */
export function javascriptHandlerParameters(
  source: string,
  kind: ModuleKind,
  name: string,
): HandlerParameters | undefined {
  if (Buffer.byteLength(source) > MAX_HANDLER_MODULE_BYTES) return undefined;
  let program: Program;
  try {
    program = parse(source, {
      ecmaVersion: 'latest',
      sourceType: kind === 'module' ? 'module' : 'script',
      allowReturnOutsideFunction: kind === 'commonjs',
      allowHashBang: true,
    });
  } catch {
    return undefined; // V8 judged the syntax; a grammar acorn lacks is no verdict
  }
  const exported = kind === 'module' ? moduleExport(program, name) : commonJsExport(program, name);
  return exported === undefined || exported === 'unknown'
    ? undefined
    : parametersOf(exported, source);
}

function commonJsExport(program: Program, name: string): Binding {
  const topLevel = new Set<Node>();
  let binding: Binding;
  for (const statement of program.body) {
    const assignment = assignmentOf(statement);
    if (!assignment) continue;
    if (isExportsMember(assignment.left, name)) {
      topLevel.add(assignment);
      binding = resolve(program, assignment.right);
    } else if (isModuleExports(assignment.left)) {
      topLevel.add(assignment);
      binding =
        assignment.right.type === 'ObjectExpression'
          ? propertyOf(program, assignment.right, name)
          : 'unknown';
    }
  }
  const elsewhere = someNode(
    program,
    (node) =>
      node.type === 'AssignmentExpression' &&
      !topLevel.has(node) &&
      (isExportsMember((node as AssignmentExpression).left, name) ||
        isModuleExports((node as AssignmentExpression).left)),
  );
  return elsewhere ? 'unknown' : binding;
}

function moduleExport(program: Program, name: string): Binding {
  let binding: Binding;
  for (const statement of program.body) {
    if (statement.type !== 'ExportNamedDeclaration') continue;
    const declaration = statement.declaration;
    if (declaration?.type === 'FunctionDeclaration' && declaration.id.name === name) {
      binding = reassigned(program, name) ? 'unknown' : declaration;
    } else if (declaration?.type === 'VariableDeclaration') {
      for (const declarator of declaration.declarations) {
        if (declarator.id.type !== 'Identifier' || declarator.id.name !== name) continue;
        const constant = declaration.kind === 'const' || !reassigned(program, name);
        binding = constant && declarator.init ? resolve(program, declarator.init) : 'unknown';
      }
    }
    for (const specifier of statement.specifiers) {
      if (nameOf(specifier.exported) !== name) continue;
      binding =
        statement.source || specifier.local.type !== 'Identifier'
          ? 'unknown'
          : resolve(program, specifier.local);
    }
  }
  return binding;
}

/** A value as a function: itself, or the top-level function or const an identifier names. */
function resolve(program: Program, value: Expression): Binding {
  if (value.type === 'FunctionExpression' || value.type === 'ArrowFunctionExpression') return value;
  if (value.type !== 'Identifier' || reassigned(program, value.name)) return 'unknown';
  let binding: Binding = 'unknown';
  for (const statement of program.body) {
    const declaration =
      statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (declaration?.type === 'FunctionDeclaration' && declaration.id?.name === value.name)
      binding = declaration;
    if (declaration?.type === 'VariableDeclaration' && declaration.kind === 'const') {
      for (const declarator of declaration.declarations) {
        if (declarator.id.type === 'Identifier' && declarator.id.name === value.name)
          binding =
            declarator.init?.type === 'FunctionExpression' ||
            declarator.init?.type === 'ArrowFunctionExpression'
              ? declarator.init
              : 'unknown';
      }
    }
  }
  return binding;
}

function propertyOf(program: Program, object: ObjectExpression, name: string): Binding {
  let binding: Binding = 'unknown';
  for (const property of object.properties) {
    if (property.type === 'SpreadElement') binding = 'unknown';
    else if (!property.computed && nameOf(property.key) === name && property.kind === 'init')
      binding = resolve(program, property.value as Expression);
  }
  return binding;
}

function parametersOf(fn: FunctionNode, source: string): HandlerParameters {
  let line = 1;
  for (let at = source.indexOf('\n'); at !== -1 && at < fn.start; at = source.indexOf('\n', at + 1))
    line++;
  const params = fn.params;
  const firstOptional = params.findIndex(
    (p) => p.type === 'AssignmentPattern' || p.type === 'RestElement',
  );
  const rest = params.at(-1)?.type === 'RestElement';
  const text = params.length ? source.slice(params[0].start, params[params.length - 1].end) : '';
  return {
    line,
    text: text.length > 200 ? `${text.slice(0, 200)}...` : text,
    positional: rest ? params.length - 1 : params.length,
    required: firstOptional === -1 ? params.length : firstOptional,
    rest,
    requiredKeywordOnly: [],
  };
}

function assignmentOf(statement: Statement | ModuleDeclaration): AssignmentExpression | undefined {
  if (statement.type !== 'ExpressionStatement') return undefined;
  const expression = statement.expression;
  return expression.type === 'AssignmentExpression' && expression.operator === '='
    ? expression
    : undefined;
}

/** `exports.name`, `exports["name"]`, `module.exports.name` or `module.exports["name"]`. */
function isExportsMember(node: Node, name: string): boolean {
  if (node.type !== 'MemberExpression') return false;
  const member = node as MemberExpression;
  const object = member.object;
  const onExports =
    (object.type === 'Identifier' && object.name === 'exports') || isModuleExports(object);
  return onExports && propertyName(member) === name;
}

function isModuleExports(node: Node): boolean {
  if (node.type !== 'MemberExpression') return false;
  const { object } = node as MemberExpression;
  return (
    object.type === 'Identifier' &&
    object.name === 'module' &&
    propertyName(node as MemberExpression) === 'exports'
  );
}

/** `b` of `a.b` or `a["b"]`; undefined for `a[b]`. */
function propertyName(member: MemberExpression): string | undefined {
  if (member.computed && member.property.type !== 'Literal') return undefined;
  return nameOf(member.property);
}

/** An identifier's name or a string literal's value. */
function nameOf(node: Node): string | undefined {
  if (node.type === 'Identifier') return (node as Identifier).name;
  const value = (node as Literal).value;
  return node.type === 'Literal' && typeof value === 'string' ? value : undefined;
}

/** Whether anything assigns to the identifier `name` (its binding may then change). */
function reassigned(program: Program, name: string): boolean {
  const isName = (node: Node) => node.type === 'Identifier' && (node as Identifier).name === name;
  return someNode(program, (node) => {
    if (node.type === 'AssignmentExpression') {
      const left = (node as AssignmentExpression).left;
      return left.type !== 'MemberExpression' && someNode(left, isName);
    }
    return node.type === 'UpdateExpression' && isName((node as UpdateExpression).argument);
  });
}

/** Whether any node of the tree matches. */
function someNode(root: Node, test: (node: Node) => boolean): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) stack.push(...(value as unknown[]));
    else if (isNode(value)) {
      if (test(value)) return true;
      for (const child of Object.values(value)) stack.push(child);
    }
  }
  return false;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).type === 'string';
}
