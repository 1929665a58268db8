/**
 * Finds the torch.nn module definitions of PyTorch model code, with the module paths torch's ONNX
 * export gives them (node `/layer1/layer1.0/conv1/Conv` ↔ module path `layer1.0.conv1`), for the code
 * lenses over layer definitions. Pure (no `vscode`): parses with `@lezer/python`, which is error
 * tolerant, so a half-typed file still yields the definitions of its intact parts.
 *
 * What is recognised, inside classes that subclass `nn.Module` (`torch.nn.Module`, `Module` imported
 * from torch, any `nn.X` / `torch.nn.X` class, or another module class of the parsed files):
 *  - `self.x = Callee(...)` and `self.x: T = Callee(...)` (also `self.a = self.b = …`), in any method
 *    and any nested block, when the callee is a module: a capitalised name (`nn.Conv2d`, `BasicBlock`,
 *    `torch.nn.ReLU`) that is not `nn.Parameter` / `torch.X` / `math.X` / `F.X` / `np.X`, a module
 *    class of the parsed files, a torchvision constructor (`models.resnet18()`), or a method of the
 *    class itself (`self._make_layer(...)`);
 *  - entries of `nn.Sequential(a, b)` (`.0`, `.1`, nested containers recurse), of
 *    `nn.Sequential(OrderedDict([('conv', …)]))` (`.conv`), `nn.ModuleList([a, b])` (`.0`),
 *    `nn.ModuleDict({'a': x})` / `nn.ModuleDict([('a', x)])` (`.a`), and the arguments of
 *    `super().__init__(a, b)` in a subclass of `nn.Sequential`;
 *  - `self.add_module('name', M())` and `self.sub.add_module('name', M())` with a literal name.
 *
 * Module paths: a module class that no other module class instantiates or references is a root
 * (prefix ''); a class instantiated at `self.block = Block()` in class P gets P's prefixes + 'block';
 * base classes get the prefixes of their subclasses. A class can have several prefixes (`paths` is the
 * product), cycles are cut.
 *
 * Not resolved (paths []): instances whose position in the model is not literal, e.g. torchvision's
 * `self.layer1 = self._make_layer(block, 64, 2)` which returns `nn.Sequential(*layers)` built in a loop
 * (the indices are unknown), `nn.Sequential(*layers)`, list comprehensions in `nn.ModuleList`,
 * `add_module(f'block{i}', …)`, or a class passed as a value (`ResNet(BasicBlock, [2, 2])`). The
 * attribute itself (`layer1`) still gets its path; the definitions in the block class get `paths: []`
 * and the caller falls back to matching by attribute name (see match.ts). A class instantiated both
 * literally and in such a non-literal way only gets the literal paths. Also not followed: modules
 * built in local variables first (`conv = nn.Conv2d(…); self.conv = conv`), conditional expressions
 * (`nn.ReLU() if a else nn.Identity()`) and modules built from constructor parameters (`act_layer()`).
 */
import { parser } from '@lezer/python';
import type { SyntaxNode } from '@lezer/common';

export interface ModuleDef {
  /** Class whose method defines it. */
  className: string;
  /** Local name: 'conv1', '0', 'conv' (Sequential index / OrderedDict key / add_module name). */
  attr: string;
  /** Callee text, e.g. 'nn.Conv2d', 'BasicBlock', 'torch.nn.ReLU'. */
  ctor: string;
  /** Every full module path of this definition from the root model class(es); [] if unresolved. */
  paths: string[];
  /** 0-based start (the `self` of `self.x = …`, or the entry expression inside a container / add_module). */
  line: number;
  character: number;
  endLine: number;
  endCharacter: number;
}

export interface PyImport {
  /** Dotted module name without the leading dots ('' for `from . import x`). */
  module: string;
  /** Number of leading dots (0 = absolute). */
  level: number;
  /** Imported names (`from m import A, B` → ['A', 'B'], '*' for a star import); [] for `import m`. */
  names: string[];
  /** Local names the imported names are bound to (aliases applied), parallel to `names`. */
  locals: string[];
  /** `import a.b as x` → 'x'; `import a.b` binds 'a.b' as written (alias undefined). */
  alias?: string;
}

/** A definition inside a class, relative to the class instance. */
export interface PyDef {
  attr: string;
  /** Path segments relative to an instance of the class, e.g. ['features', '0']. */
  local: string[];
  ctor: string;
  /** 'module': a module constructor; 'method': a method of the class (`self._make_layer(...)`);
   *  'lower': a lowercase callee, a definition only if it names a module class of the parsed files. */
  kind: 'module' | 'method' | 'lower';
  /** Container kind when the callee is nn.Sequential / ModuleList / ModuleDict. */
  container?: 'Sequential' | 'ModuleList' | 'ModuleDict';
  /** Position of the callee in the source (to tell resolved instantiations from other references). */
  calleeFrom: number;
  line: number;
  character: number;
  endLine: number;
  endCharacter: number;
}

export interface PyClass {
  name: string;
  /** Base class expressions as written ('nn.Module', 'BasicBlock', 'mb.Base'). */
  bases: string[];
  /** Names of methods defined in the class body. */
  methods: string[];
  defs: PyDef[];
  /** Names / dotted names referenced in the class body other than as a resolved definition callee. */
  refs: string[];
  /** 0-based line of the `class` keyword. */
  line: number;
}

export interface ParsedPython {
  /** Optional dotted module name of the file (e.g. 'models.blocks'), used to prefer the right file on name clashes. */
  name?: string;
  classes: PyClass[];
  imports: PyImport[];
  /** Names referenced as arguments of calls outside classes (`ResNet(BasicBlock, [2, 2])`). */
  argRefs: string[];
}

// ---------------------------------------------------------------- parsing

const CONTAINERS = new Set(['Sequential', 'ModuleList', 'ModuleDict']);
const NOT_MODULE_ROOTS = new Set([
  'torch',
  'math',
  'F',
  'np',
  'numpy',
  'functional',
  'random',
  'os',
  'sys',
  'collections',
  'typing',
]);
const NOT_MODULE_NAMES = new Set(['Parameter', 'UninitializedParameter', 'Tensor', 'OrderedDict', 'Size']);

function lineStarts(src: string): number[] {
  const starts = [0];
  for (let i = 0; i < src.length; i++) if (src.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function position(starts: number[], offset: number): { line: number; character: number } {
  let lo = 0,
    hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - starts[lo] };
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

const PUNCT = new Set(['(', ')', '[', ']', '{', '}', ',', ':', 'Comment', '⚠']);

interface Arg {
  node: SyntaxNode;
  star: 0 | 1 | 2;
  keyword?: string;
}

function callArgs(argList: SyntaxNode, text: (n: SyntaxNode) => string): Arg[] {
  const out: Arg[] = [];
  const cs = children(argList);
  let star: 0 | 1 | 2 = 0;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i];
    if (PUNCT.has(c.name)) continue;
    if (c.name === '*') {
      star = 1;
      continue;
    }
    if (c.name === '**') {
      star = 2;
      continue;
    }
    if (c.name === 'VariableName' && cs[i + 1]?.name === 'AssignOp' && cs[i + 2]) {
      out.push({ node: cs[i + 2], star: 0, keyword: text(c) });
      i += 2;
      continue;
    }
    out.push({ node: c, star });
    star = 0;
  }
  return out;
}

/** Elements of a list/tuple/parenthesised expression ([] for anything else). */
function elements(node: SyntaxNode): { node: SyntaxNode; star: boolean }[] | undefined {
  if (!['ArrayExpression', 'TupleExpression', 'ParenthesizedExpression'].includes(node.name)) return undefined;
  const out: { node: SyntaxNode; star: boolean }[] = [];
  let star = false;
  for (const c of children(node)) {
    if (PUNCT.has(c.name)) continue;
    if (c.name === '*') {
      star = true;
      continue;
    }
    out.push({ node: c, star });
    star = false;
  }
  return out;
}

/** A Python string literal's value, or undefined for f-strings / non-literals. */
function stringValue(node: SyntaxNode, text: (n: SyntaxNode) => string): string | undefined {
  if (node.name !== 'String') return undefined;
  const m = /^([rRuUbB]{0,2})('''|"""|'|")([\s\S]*)\2$/.exec(text(node));
  if (!m || /[fF]/.test(m[1])) return undefined;
  return m[3];
}

function lastSegment(dotted: string): string {
  const i = dotted.lastIndexOf('.');
  return i < 0 ? dotted : dotted.slice(i + 1);
}

function containerKind(callee: string): PyDef['container'] {
  const last = lastSegment(callee);
  if (!CONTAINERS.has(last)) return undefined;
  const head = callee.slice(0, callee.length - last.length).replace(/\.$/, '');
  return head === '' || head === 'nn' || head === 'torch.nn' || head.startsWith('torch.nn.')
    ? (last as PyDef['container'])
    : undefined;
}

function parseImport(node: SyntaxNode, text: (n: SyntaxNode) => string): PyImport[] {
  const cs = children(node).filter((c) => c.name !== 'Comment' && c.name !== '⚠');
  if (cs[0]?.name === 'from') {
    let level = 0;
    const mod: string[] = [];
    let i = 1;
    for (; i < cs.length && cs[i].name !== 'import'; i++) {
      if (cs[i].name === '.' && !mod.length)
        level += 1; // dots between names are separators
      else if (cs[i].name === 'Ellipsis' && !mod.length) level += 3;
      else if (cs[i].name === 'VariableName') mod.push(text(cs[i]));
    }
    const names: string[] = [];
    const locals: string[] = [];
    for (i += 1; i < cs.length; i++) {
      const c = cs[i];
      if (c.name === '*') {
        names.push('*');
        locals.push('*');
      } else if (c.name === 'VariableName') {
        if (cs[i - 1]?.name === 'as') locals[locals.length - 1] = text(c);
        else {
          names.push(text(c));
          locals.push(text(c));
        }
      }
    }
    return [{ module: mod.join('.'), level, names, locals }];
  }
  // import a.b as x, c
  const out: PyImport[] = [];
  let parts: string[] = [];
  let alias: string | undefined;
  let afterAs = false;
  const flush = () => {
    if (parts.length)
      out.push({ module: parts.join('.'), level: 0, names: [], locals: [], ...(alias ? { alias } : {}) });
    parts = [];
    alias = undefined;
    afterAs = false;
  };
  for (const c of cs.slice(1)) {
    if (c.name === ',') flush();
    else if (c.name === 'as') afterAs = true;
    else if (c.name === 'VariableName') {
      if (afterAs) alias = text(c);
      else parts.push(text(c));
    }
  }
  flush();
  return out;
}

/** Parse Python source; `name` is the file's dotted module name, if known (e.g. 'models.blocks'). */
export function parsePython(source: string, name?: string): ParsedPython {
  const tree = parser.parse(source);
  const starts = lineStarts(source);
  const text = (n: SyntaxNode) => source.slice(n.from, n.to);
  const calleeText = (n: SyntaxNode) => text(n).replace(/\s+/g, '');
  const result: ParsedPython = { ...(name !== undefined ? { name } : {}), classes: [], imports: [], argRefs: [] };

  const range = (from: number, to: number) => {
    const a = position(starts, from),
      b = position(starts, to);
    return { line: a.line, character: a.character, endLine: b.line, endCharacter: b.character };
  };

  const visitClass = (cls: SyntaxNode) => {
    const nameNode = cls.getChild('VariableName');
    const body = cls.getChild('Body');
    if (!nameNode) return;
    const info: PyClass = {
      name: text(nameNode),
      bases: [],
      methods: [],
      defs: [],
      refs: [],
      line: position(starts, cls.from).line,
    };
    const argList = cls.getChild('ArgList');
    if (argList)
      for (const a of callArgs(argList, text)) if (!a.keyword && !a.star) info.bases.push(calleeText(a.node));
    result.classes.push(info);
    if (!body) return;
    const methods = children(body)
      .filter((c) => c.name === 'FunctionDefinition' || c.name === 'DecoratedStatement')
      .map((c) => (c.name === 'DecoratedStatement' ? c.getChild('FunctionDefinition') : c))
      .filter((c): c is SyntaxNode => !!c);
    for (const m of methods) {
      const mn = m.getChild('VariableName');
      if (mn) info.methods.push(text(mn));
    }
    const consumed = new Set<number>();

    /** A call whose callee is a module constructor → its callee text, else undefined. */
    const moduleCallee = (node: SyntaxNode, self: string): string | undefined => {
      if (node.name !== 'CallExpression') return undefined;
      const callee = node.firstChild;
      if (!callee || (callee.name !== 'VariableName' && callee.name !== 'MemberExpression')) return undefined;
      if (callee.name === 'MemberExpression' && callee.getChild('[')) return undefined;
      const t = calleeText(callee);
      if (!/^[A-Za-z_][\w.]*$/.test(t)) return undefined;
      const segs = t.split('.');
      const last = segs[segs.length - 1];
      if (segs.length === 2 && segs[0] === self) return info.methods.includes(last) ? 'method:' + t : undefined;
      if (segs[0] === self) return undefined;
      if (segs.length > 1 && segs[0] === 'torchvision') return t;
      if (segs.length > 1 && NOT_MODULE_ROOTS.has(segs[0]) && !(segs[0] === 'torch' && segs[1] === 'nn'))
        return undefined;
      if (NOT_MODULE_NAMES.has(last)) return undefined;
      if (/^[A-Z]/.test(last)) return t;
      // lowercase: a torchvision model constructor (`models.resnet18()`), or possibly a module class of the
      // parsed files (kind 'lower', checked in moduleDefinitions)
      if (segs.length === 2 && importedFromTorchvision(segs[0])) return t;
      return 'lower:' + t;
    };
    const importedFromTorchvision = (local: string) =>
      result.imports.some(
        (im) =>
          (im.module === 'torchvision' || im.module.startsWith('torchvision.')) &&
          (im.locals.includes(local) || im.alias === local || im.module === local),
      );

    const addDef = (local: string[], value: SyntaxNode, from: number, to: number, self: string) => {
      let ctor = moduleCallee(value, self);
      if (!ctor) return;
      // lowercase callees are kept here and dropped in moduleDefinitions unless they name a module class
      const kind: PyDef['kind'] = ctor.startsWith('lower:')
        ? 'lower'
        : ctor.startsWith('method:')
          ? 'method'
          : 'module';
      ctor = ctor.replace(/^(lower|method):/, '');
      const container = containerKind(ctor);
      consumed.add(value.firstChild!.from);
      info.defs.push({
        attr: local[local.length - 1],
        local,
        ctor,
        kind,
        ...(container ? { container } : {}),
        calleeFrom: value.firstChild!.from,
        ...range(from, to),
      });
      if (container) addEntries(local, value, container, self);
    };

    const addEntries = (local: string[], call: SyntaxNode, kind: NonNullable<PyDef['container']>, self: string) => {
      const argList = call.getChild('ArgList');
      if (!argList) return;
      const args = callArgs(argList, text).filter((a) => !a.keyword);
      const pairs = (node: SyntaxNode): [string | undefined, SyntaxNode][] | undefined => {
        // OrderedDict([...]) / collections.OrderedDict([...]) / list of tuples / dict literal (ModuleDict only)
        if (node.name === 'CallExpression' && /(^|\.)OrderedDict$/.test(calleeText(node.firstChild!))) {
          consumed.add(node.firstChild!.from);
          const inner = node.getChild('ArgList');
          const a = inner ? callArgs(inner, text).filter((x) => !x.keyword && !x.star) : [];
          return a.length ? (pairs(a[0].node) ?? []) : [];
        }
        const els = elements(node);
        if (els)
          return els.map((e) => {
            const t = elements(e.node);
            if (e.star || !t || t.length !== 2) return [undefined, e.node] as [undefined, SyntaxNode];
            return [stringValue(t[0].node, text), t[1].node] as [string | undefined, SyntaxNode];
          });
        if (node.name === 'DictionaryExpression' && kind === 'ModuleDict') {
          const out: [string | undefined, SyntaxNode][] = [];
          const cs = children(node).filter((c) => !['{', '}', ',', 'Comment', '⚠'].includes(c.name));
          for (let i = 0; i < cs.length; i++) {
            if (cs[i].name === '**') {
              i += 1;
              continue;
            }
            if (cs[i + 1]?.name === ':' && cs[i + 2]) {
              out.push([stringValue(cs[i], text), cs[i + 2]]);
              i += 2;
            }
          }
          return out;
        }
        return undefined;
      };
      const entry = (key: string, node: SyntaxNode) => addDef([...local, key], node, node.from, node.to, self);
      if (kind === 'Sequential') {
        if (args.length === 1 && !args[0].star) {
          const p = args[0].node.name === 'CallExpression' ? pairs(args[0].node) : undefined;
          if (p && /(^|\.)OrderedDict$/.test(calleeText(args[0].node.firstChild!))) {
            for (const [k, v] of p) if (k !== undefined) entry(k, v);
            return;
          }
        }
        for (let i = 0; i < args.length; i++) {
          if (args[i].star) return; // indices after *layers are unknown
          entry(String(i), args[i].node);
        }
        return;
      }
      if (args.length !== 1 || args[0].star) return;
      if (kind === 'ModuleList') {
        const els = elements(args[0].node);
        if (!els) return;
        for (let i = 0; i < els.length; i++) {
          if (els[i].star) return;
          entry(String(i), els[i].node);
        }
        return;
      }
      const p = pairs(args[0].node);
      if (p) for (const [k, v] of p) if (k !== undefined) entry(k, v);
    };

    /** `self.a.b` → ['a', 'b'] (plain attribute chain on `self`), else undefined. */
    const selfChain = (node: SyntaxNode, self: string): string[] | undefined => {
      if (node.name !== 'MemberExpression' || node.getChild('[')) return undefined;
      const t = calleeText(node);
      if (!/^[A-Za-z_][\w.]*$/.test(t)) return undefined;
      const segs = t.split('.');
      return segs[0] === self && segs.length > 1 ? segs.slice(1) : undefined;
    };

    const isSequentialSubclass = info.bases.some((b) => containerKind(b) === 'Sequential');

    const walkMethod = (m: SyntaxNode) => {
      const params = m.getChild('ParamList');
      const first = params ? children(params).find((c) => c.name === 'VariableName') : undefined;
      const self = first ? text(first) : 'self';
      const mbody = m.getChild('Body');
      if (!mbody) return;
      const visit = (n: SyntaxNode) => {
        if (n.name === 'ClassDefinition') return; // its own class
        if (n.name === 'AssignStatement') {
          const cs = children(n).filter((c) => c.name !== 'Comment');
          const ops = cs.map((c, i) => (c.name === 'AssignOp' && text(c) === '=' ? i : -1)).filter((i) => i >= 0);
          if (ops.length) {
            const value = cs[ops[ops.length - 1] + 1];
            const targets = [cs[0], ...ops.slice(0, -1).map((i) => cs[i + 1])];
            if (value)
              for (const t of targets) {
                const chain = t ? selfChain(t, self) : undefined;
                if (chain) addDef(chain, value, t.from, n.to, self);
              }
          }
        } else if (n.name === 'CallExpression') {
          const callee = n.firstChild;
          const t = callee ? calleeText(callee) : '';
          const argList = n.getChild('ArgList');
          if (callee && argList && t.endsWith('.add_module')) {
            const chain = selfChain(callee, self);
            const owner = chain ? chain.slice(0, -1) : undefined;
            const args = callArgs(argList, text).filter((a) => !a.star);
            const nameArg = args.find((a) => a.keyword === 'name') ?? args.filter((a) => !a.keyword)[0];
            const modArg = args.find((a) => a.keyword === 'module') ?? args.filter((a) => !a.keyword)[1];
            const key = nameArg ? stringValue(nameArg.node, text) : undefined;
            if (owner && key !== undefined && modArg)
              addDef([...owner, key], modArg.node, modArg.node.from, modArg.node.to, self);
          } else if (callee && argList && isSequentialSubclass && /^super\([^)]*\)\.__init__$/.test(t)) {
            const args = callArgs(argList, text).filter((a) => !a.keyword);
            for (let i = 0; i < args.length; i++) {
              if (args[i].star) break;
              addDef([String(i)], args[i].node, args[i].node.from, args[i].node.to, self);
            }
          }
        }
        for (let c = n.firstChild; c; c = c.nextSibling) visit(c);
      };
      visit(mbody);
    };
    for (const m of methods) walkMethod(m);

    // other references to names in the class body (instantiations we could not place, classes passed around)
    const collectRefs = (n: SyntaxNode) => {
      if (n.name === 'ClassDefinition' && n !== cls) return;
      if (n.name === 'VariableName' || (n.name === 'MemberExpression' && !n.getChild('['))) {
        const t = calleeText(n);
        if (!consumed.has(n.from) && /^[A-Za-z_][\w.]*$/.test(t) && t !== info.name) info.refs.push(t);
        if (n.name === 'MemberExpression') {
          // also the object part (`mb.Block.x` → 'mb.Block')
          const obj = n.firstChild;
          if (obj) collectRefs(obj);
          return;
        }
      }
      for (let c = n.firstChild; c; c = c.nextSibling) collectRefs(c);
    };
    collectRefs(body);
  };

  // imports first, anywhere in the file (the callee classification looks at them)
  const collectImports = (n: SyntaxNode) => {
    if (n.name === 'ImportStatement') {
      result.imports.push(...parseImport(n, text));
      return;
    }
    for (let c = n.firstChild; c; c = c.nextSibling) collectImports(c);
  };
  collectImports(tree.topNode);
  // classes at any depth (also inside functions), and names passed to calls outside classes
  const visit = (n: SyntaxNode, inClass: boolean) => {
    if (n.name === 'ClassDefinition') {
      visitClass(n);
      inClass = true;
    }
    if (!inClass && n.name === 'ArgList' && n.parent?.name === 'CallExpression') {
      for (const a of callArgs(n, text)) {
        if (a.node.name === 'VariableName' || (a.node.name === 'MemberExpression' && !a.node.getChild('[')))
          result.argRefs.push(calleeText(a.node));
      }
    }
    for (let c = n.firstChild; c; c = c.nextSibling) visit(c, inClass);
  };
  visit(tree.topNode, false);
  return result;
}

/**
 * Import targets of a file as dotted module names relative to the file ('.blocks' → level 1 'blocks'), for the caller
 * to find in the workspace.
 */
export function importedModules(p: ParsedPython): { module: string; level: number; names: string[] }[] {
  const out: { module: string; level: number; names: string[] }[] = [];
  const add = (module: string, level: number, names: string[]) => {
    const key = `${level}:${module}`;
    const prev = out.find((o) => `${o.level}:${o.module}` === key);
    if (prev) {
      for (const n of names) if (!prev.names.includes(n)) prev.names.push(n);
      return;
    }
    out.push({ module, level, names: [...names] });
  };
  for (const im of p.imports) {
    if (
      im.level === 0 &&
      /^(torch|torchvision|numpy|math|os|sys|collections|typing|functools|itertools|dataclasses)(\.|$)/.test(im.module)
    )
      continue;
    add(im.module, im.level, im.names);
    // `from pkg import sub` may name a submodule: offer pkg.sub as well
    for (const n of im.names)
      if (n !== '*' && /^[a-z_]/.test(n)) add(im.module ? `${im.module}.${n}` : n, im.level, []);
  }
  return out;
}

// ---------------------------------------------------------------- resolution

interface ClassRef {
  file: ParsedPython;
  cls: PyClass;
}

function moduleMatches(file: ParsedPython, module: string): boolean {
  if (file.name === undefined || module === '') return false;
  return file.name === module || file.name.endsWith('.' + module) || module.endsWith('.' + file.name);
}

class Universe {
  readonly files: ParsedPython[];
  private readonly moduleCache = new Map<PyClass, boolean>();
  private readonly classKey = new Map<PyClass, ClassRef>();

  constructor(files: ParsedPython[]) {
    this.files = files;
    for (const file of files) for (const cls of file.classes) this.classKey.set(cls, { file, cls });
  }

  ref(cls: PyClass): ClassRef {
    return this.classKey.get(cls)!;
  }

  /** Find class `name` in another file, preferring one whose module name matches. */
  private inOthers(from: ParsedPython, name: string, module: string): ClassRef | undefined {
    let fallback: ClassRef | undefined;
    for (const file of this.files) {
      if (file === from) continue;
      const cls = file.classes.find((c) => c.name === name);
      if (!cls) continue;
      if (moduleMatches(file, module)) return { file, cls };
      fallback ??= { file, cls };
    }
    return fallback;
  }

  /** Resolve a name / dotted name used in `file` to a class of the universe. */
  resolve(file: ParsedPython, dotted: string): ClassRef | undefined {
    const segs = dotted.split('.');
    if (segs.length === 1) {
      const local = file.classes.find((c) => c.name === dotted);
      if (local) return { file, cls: local };
      for (const im of file.imports) {
        const i = im.locals.indexOf(dotted);
        if (i >= 0) return this.inOthers(file, im.names[i], im.module);
      }
      if (file.imports.some((im) => im.names.includes('*'))) {
        for (const im of file.imports)
          if (im.names.includes('*')) {
            const r = this.inOthers(file, dotted, im.module);
            if (r) return r;
          }
      }
      return undefined;
    }
    const head = segs.slice(0, -1).join('.');
    const last = segs[segs.length - 1];
    for (const im of file.imports) {
      if (im.alias === head || (!im.alias && im.names.length === 0 && im.module === head))
        return this.inOthers(file, last, im.module);
      const i = im.locals.indexOf(head);
      if (i >= 0 && im.names[i] !== '*')
        return this.inOthers(file, last, im.module ? `${im.module}.${im.names[i]}` : im.names[i]);
    }
    return undefined;
  }

  /** Whether a class is a torch.nn.Module subclass (directly or through classes of the universe). */
  isModule(r: ClassRef, seen = new Set<PyClass>()): boolean {
    const cached = this.moduleCache.get(r.cls);
    if (cached !== undefined) return cached;
    if (seen.has(r.cls)) return false;
    seen.add(r.cls);
    let yes = false;
    for (const b of r.cls.bases) {
      if (
        b === 'nn.Module' ||
        b === 'torch.nn.Module' ||
        /^(torch\.)?nn\.[A-Z]\w*$/.test(b) ||
        /^torch\.nn\.[\w.]*[A-Z]\w*$/.test(b)
      ) {
        yes = true;
        break;
      }
      if (b === 'Module' || CONTAINERS.has(b)) {
        const im = r.file.imports.find((i) => i.locals.includes(b));
        if (im && /^torch(\.|$)/.test(im.module)) {
          yes = true;
          break;
        }
      }
      const base = this.resolve(r.file, b);
      if (base && base.cls !== r.cls && this.isModule(base, seen)) {
        yes = true;
        break;
      }
    }
    this.moduleCache.set(r.cls, yes);
    return yes;
  }
}

const MAX_PATHS = 512;

function joinPath(prefix: string, local: string[]): string {
  return [prefix, ...local].filter((s) => s !== '').join('.');
}

/** All definitions of `main`, with paths resolved across `main` and the parsed files it imports (`others`). */
export function moduleDefinitions(main: ParsedPython, others: ParsedPython[] = []): ModuleDef[] {
  return definitionsOf(main, others, [main])[0];
}

/**
 * The definitions of `main` and of each other file (each file once), resolved together as moduleDefinitions
 * resolves `main`'s: the code lenses of one file give each analysed layer to one definition of the whole model
 * (python/match.ts, assignLayers), so they need the definitions of the files around it too.
 */
export function allModuleDefinitions(
  main: ParsedPython,
  others: ParsedPython[] = [],
): { main: ModuleDef[]; others: ModuleDef[] } {
  const files = [...new Set(others)].filter((o) => o !== main);
  const [mainDefs, ...rest] = definitionsOf(main, others, [main, ...files]);
  return { main: mainDefs, others: rest.flat() };
}

function definitionsOf(main: ParsedPython, others: ParsedPython[], wanted: ParsedPython[]): ModuleDef[][] {
  const u = new Universe([main, ...others.filter((o) => o !== main)]);
  const all: ClassRef[] = [];
  for (const file of u.files) for (const cls of file.classes) all.push(u.ref(cls));
  const modules = all.filter((r) => u.isModule(r));

  /** Whether a def's callee is a module (lowercase callees only when they name a module class). */
  const defClass = new Map<PyDef, ClassRef | undefined>();
  const keep = (r: ClassRef, d: PyDef): boolean => {
    let target: ClassRef | undefined;
    if (d.kind !== 'method') {
      target = u.resolve(r.file, d.ctor);
      if (target && !u.isModule(target)) return false; // a plain class of the parsed files (a config, …)
    }
    defClass.set(d, target);
    return d.kind !== 'lower' || !!target;
  };
  const kept = new Map<PyClass, PyDef[]>();
  for (const r of modules)
    kept.set(
      r.cls,
      r.cls.defs.filter((d) => keep(r, d)),
    );

  // incoming edges: class → [(parent class, local path)]
  const incoming = new Map<PyClass, { parent: PyClass; local: string[] }[]>();
  const referenced = new Set<PyClass>();
  const subclasses = new Map<PyClass, PyClass[]>();
  for (const r of modules) {
    for (const d of kept.get(r.cls)!) {
      const t = defClass.get(d);
      if (!t || (t.cls === r.cls && d.local.length === 0)) continue;
      const list = incoming.get(t.cls) ?? [];
      list.push({ parent: r.cls, local: d.local });
      incoming.set(t.cls, list);
      if (t.cls !== r.cls) referenced.add(t.cls);
    }
    for (const ref of r.cls.refs) {
      const t = u.resolve(r.file, ref);
      if (t && t.cls !== r.cls && u.isModule(t)) referenced.add(t.cls);
    }
    for (const b of r.cls.bases) {
      const t = u.resolve(r.file, b);
      if (t && t.cls !== r.cls && u.isModule(t)) {
        referenced.add(t.cls);
        subclasses.set(t.cls, [...(subclasses.get(t.cls) ?? []), r.cls]);
      }
    }
  }
  for (const file of u.files)
    for (const a of file.argRefs) {
      const t = u.resolve(file, a);
      if (t && u.isModule(t)) referenced.add(t.cls);
    }

  const memo = new Map<PyClass, string[]>();
  const active = new Set<PyClass>();
  const prefixes = (cls: PyClass): string[] => {
    const m = memo.get(cls);
    if (m) return m;
    if (active.has(cls)) return [];
    active.add(cls);
    const out = new Set<string>();
    if (!referenced.has(cls)) out.add('');
    for (const e of incoming.get(cls) ?? []) {
      for (const p of prefixes(e.parent)) {
        if (out.size >= MAX_PATHS) break;
        out.add(joinPath(p, e.local));
      }
    }
    for (const s of subclasses.get(cls) ?? []) for (const p of prefixes(s)) if (out.size < MAX_PATHS) out.add(p);
    active.delete(cls);
    const list = [...out];
    memo.set(cls, list);
    return list;
  };

  const definitions = (file: ParsedPython): ModuleDef[] => {
    const out: ModuleDef[] = [];
    for (const cls of file.classes) {
      const defs = kept.get(cls);
      if (!defs) continue;
      const pre = prefixes(cls);
      for (const d of defs) {
        const paths: string[] = [];
        for (const p of pre) {
          const full = joinPath(p, d.local);
          if (!paths.includes(full)) paths.push(full);
        }
        out.push({
          className: cls.name,
          attr: d.attr,
          ctor: d.ctor,
          paths,
          line: d.line,
          character: d.character,
          endLine: d.endLine,
          endCharacter: d.endCharacter,
        });
      }
    }
    return out;
  };
  return wanted.map(definitions);
}
