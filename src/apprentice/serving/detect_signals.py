"""The evidence language detection looks for, as data: one `Signal` per pattern, weighted.

Weights follow how much a signal commits to one language: a fenced block's info string or a
compiler's own diagnostic format is near proof (5-6), a file name or an import is strong (3-4),
a syntax habit shared with no other supported language is a hint (1-2.5). Patterns that two of
the four languages share (`let x = 5;` is Rust and TypeScript, `len(` is Go and Python) are left
out on purpose: they would only add noise. Extensions come from the language registry
(`detect.py`), so a new language module brings its own; `EXTRA_EXTENSIONS` adds the
neighbours the registry does not grade (JavaScript files route to the TypeScript adapter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Signal:
    """A pattern that is evidence for `language`; `reason` names it, `{}` takes the matched text."""

    language: str
    pattern: re.Pattern[str]
    weight: float
    reason: str


# Info strings after ``` that name a language: the writer said so, the strongest signal there is.
FENCE_LANGUAGES: dict[str, str] = {
    "python": "python", "py": "python", "python3": "python", "pycon": "python", "ipython": "python",
    "rust": "rust", "rs": "rust",
    "typescript": "typescript", "ts": "typescript", "tsx": "typescript",
    "javascript": "typescript", "js": "typescript", "jsx": "typescript",
    "go": "go", "golang": "go",
}
FENCE_WEIGHT = 6.0

# Extensions the registry does not list but that point at one adapter all the same (weight 2, not 4).
EXTRA_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "python": (".pyi", ".ipynb"),
    "typescript": (".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"),
}
EXTENSION_WEIGHT = 4.0
EXTRA_EXTENSION_WEIGHT = 2.0

_NOT_SOURCE = r"(?<!from )(?<!of )(?<!than )(?<!like )"

# (language, weight, reason, regex). Compiled below with re.MULTILINE.
_TABLE: tuple[tuple[str, float, str, str], ...] = (
    # --- project files and tools: name the ecosystem even with no code in sight
    ("rust", 4, "project file {}", r"\b(?:Cargo\.(?:toml|lock)|rust-toolchain(?:\.toml)?|clippy\.toml)\b"),
    ("go", 4, "project file {}", r"(?<![\w.])go\.(?:mod|sum|work)\b"),
    ("typescript", 4, "project file {}",
     r"\b(?:package(?:-lock)?\.json|tsconfig(?:\.\w+)?\.json|pnpm-lock\.yaml|yarn\.lock|node_modules|\.eslintrc)"),
    ("python", 4, "project file {}",
     r"\b(?:pyproject\.toml|requirements\.txt|setup\.cfg|pytest\.ini|tox\.ini|Pipfile|poetry\.lock|__pycache__|site-packages)\b"),
    ("rust", 3, "tool `{}`", r"\b(?:cargo (?:build|run|test|check|clippy|fmt|add|bench)|rustc|rustup|crates\.io)\b"),
    ("go", 3, "tool `{}`", r"\b(?:go (?:build|run|test|vet|get|mod|install|generate|fmt)\b|gofmt|golangci-lint)|//go:\w+"),
    ("typescript", 3, "tool `{}`", r"\b(?:npm|npx|pnpm|yarn|tsc|ts-node|jest|vitest|eslint|deno|node:\w+)\b"),
    ("python", 3, "tool `{}`", r"\b(?:pytest|pip3? install|python3? -m|mypy|ruff|virtualenv|conda|poetry)\b"),
    # --- the language named in prose ("in Go", "Rust's", "golang"); after "from", "of", "than" or
    # "like" it is the language the user comes from, not the one they ask about
    ("python", 3, "names {}", _NOT_SOURCE + r"\b(?:[Pp]ython3?|CPython|Django|FastAPI|Flask|numpy|pandas)\b"),
    ("rust", 3, "names {}",
     _NOT_SOURCE + r"\b(?:Rust|(?:in|with|using|into|to|learn|write|writing) rust|tokio|serde|clippy|borrow checker)\b"),
    ("typescript", 3, "names {}", _NOT_SOURCE + r"\b(?:TypeScript|typescript|TS|Angular|Next\.js)\b"),
    ("typescript", 1.5, "names {}", _NOT_SOURCE + r"\b(?:JavaScript|javascript|Node(?:\.js)?|React)\b"),
    ("go", 3, "names {}",
     _NOT_SOURCE + r"\b(?:golang|Go(?='s| (?:code|program|project|module|package|library|app|shop|team|service|server|backend|version|toolchain"
     r"|compiler|runtime|binary|equivalent|generics|developers?))"
     r"|idiomatic Go|(?:[Ii]n|with|using|use|learn|write) [Gg]o\b(?! (?:over|ahead|back|through|to|on|out|up|away)))"),
    # --- a keyword one language owns, quoted in prose (`defer`, `yield`, `impl`, `keyof`)
    ("python", 2, "keyword {}", r"`(?:yield|lambda|elif|self|None|def|is|pass|\*\*kwargs|\*args|__init__)`|\*\*kwargs\b"),
    ("rust", 2, "keyword {}", r"`(?:impl|let mut|unsafe|dyn|mod|crate|&mut|\?|'a)`"),
    ("go", 2, "keyword {}", r"`(?:defer|go|chan|select|:=|nil|go func|iota)`"),
    ("typescript", 2, "keyword {}", r"`(?:keyof|typeof|satisfies|as const|readonly|unknown|never|any|enum)`"),
    # --- concepts one ecosystem owns, named in prose
    ("python", 2, "term `{}`", r"\b(?:list comprehension|generator expression|decorators?|dunder|virtualenv|GIL)\b"),
    ("rust", 2, "term `{}`", r"\b(?:crates?|lifetimes?|trait objects?|borrowck|turbofish)\b"),
    ("go", 2, "term `{}`", r"\b(?:goroutines?|zero value|nil (?:map|slice|pointer|interface)|WaitGroup|errgroup)\b"),
    ("typescript", 2, "term `{}`", r"\b(?:type guards?|union types?|type declarations|`satisfies`|keyof|typeof \w)"),
    # --- a toolchain's own diagnostics
    ("rust", 5, "compiler error {}", r"\berror\[E\d{4}\]"),
    ("rust", 4, "diagnostic `{}`",
     r"thread '[^']*' (?:panicked|has overflowed)|fatal runtime error|RUST_BACKTRACE|^test [\w:]+ \.\.\. (?:ok|FAILED)"
     r"|^test result: (?:ok|FAILED)\.|could not compile `|#\[warn\(|^\s*--> [\w/.-]+\.rs:\d+"),
    ("go", 5, "runtime panic `{}`", r"^panic: |^goroutine \d+ \[|^fatal error: all goroutines are asleep"),
    ("go", 4, "diagnostic `{}`",
     r"^go: |imported and not used|\(variable of type [\w.*\[\]]+\)|^--- FAIL: Test|^FAIL\t|declared and not used|DATA RACE|no required module provides package|^# [\w.]+/"),
    ("python", 5, "`{}`", r"Traceback \(most recent call last\)|^\s*File \"[^\"]+\", line \d+"),
    ("python", 3, "exception `{}`",
     r"\b(?:ModuleNotFound|Attribute|Key|Index|Name|Value|ZeroDivision|Recursion|Indentation|Import|Assertion)Error\b"
     r"|unsupported operand type\(s\)|'NoneType'|short test summary info"),
    ("typescript", 5, "compiler error {}", r"\berror TS\d+\b"),
    ("typescript", 3, "diagnostic `{}`",
     r"is not a function|Cannot read properties of|is not assignable to|does not exist on type|node:internal"
     r"|ReferenceError|UnhandledPromiseRejection|ERR_REQUIRE_ESM|expect\(received\)|^\s*at \S+ \(\S+:\d+:\d+\)"),
    # --- imports
    ("rust", 3, "`{}` path", r"^\s*(?:pub )?use (?:std|core|alloc|crate|super|self|[a-z_]+)::"),
    ("rust", 3, "`{}`", r"^\s*(?:extern crate \w+|mod \w+;)"),
    ("go", 4, "`{}`", r"^\s*(?:package \w+\s*$|import \(\s*$|import \"[\w./-]+\")"),
    ("python", 3, "import `{}`", r"^\s*(?:from [\w.]+ import \w|import [\w.]+(?: as \w+)?(?:, [\w.]+)*\s*$)"),
    ("typescript", 3, "import `{}`",
     r"^\s*(?:import\b[^;\n]*\bfrom ['\"]|import ['\"])|\brequire\(['\"]|module\.exports\b"
     r"|^\s*export (?:default|const|function|class|interface|type|async|enum)\b"),
    # --- syntax a single supported language owns
    ("rust", 2.5, "`{}`", r"\bfn \w+(?:<[^>\n]*>)?\(|\blet mut\b|&mut \w|&'?\w* ?self\b|\bimpl(?:<[^>\n]*>)? \w"),
    ("rust", 2, "`{}`",
     r"\b(?:println|eprintln|format|vec|assert_eq|assert|panic|write|writeln|unreachable|macro_rules)!"
     r"|#\[\w+|\bpub(?:\(crate\))? (?:fn|struct|enum|mod|trait|const|use|async)\b|\bdyn \w|<'\w+[,>]|&'\w+ |'static\b"
     r"|\b(?:if|while) let \w|\blet (?:mut )?\w+: (?:[iu](?:8|16|32|64|128|size)|f32|f64|bool|char|String|&)"),
    ("rust", 1.5, "`{}`",
     r"&str\b|::<|\bunsafe \{|\[\w+; \w+\]|\bfor \(?[\w, ]+\)? in [^\n:]*\{|\benum \w+ \{ \w+\(|\b(?:Vec|Option|Result|HashMap|Box|Rc|Arc|RefCell)<|\.unwrap\(\)|\.expect\(\"|\b(?:Some|Ok|Err)\(|::new\("),
    ("rust", 1, "`{}`", r"\.(?:iter|iter_mut|into_iter|chars|collect|len|to_string|to_owned|as_str|as_ref|is_some|is_none|is_empty|push_str)\(\)"
     r"|\b(?:i8|i16|i32|i64|u8|u16|u32|u64|usize|isize|f32|f64)\b|\w::\w|\|\w[\w, &:]*\|[ {]|\(\|\| |\bSelf\b"),
    ("go", 2.5, "`{}`",
     r"\bfunc (?:\([^)\n]*\) )?\w+(?:\[[^\]\n]*\])?\(|\berr != nil\b|\.\(type\)|^\s*\w+, (?:ok|err) := "
     r"|\b(?:for|if|switch) [\w, ]+ := "),
    ("go", 2, "`{}`",
     r"\bfmt\.\w+\(|^\s*defer \w|^\s*go (?:func\b|\w+\()|\btype \w+ (?:struct|interface)\b|\bmap\[\w+\]"
     r"|\berrors\.(?:New|Is|As)\(|\*testing\.T\b|\bsync\.\w+"),
    ("go", 1.5, "`{}`", r"^\s*[\w, ]+ := |&[A-Z]\w*\{|\bfunc\(|\bchan\b|<-\w|\[\]\*?[A-Za-z]|\bnil\b|\brange \w|\bvar \w+ [\w.*\[\]]+\s*$"),
    ("go", 1, "`{}`", r"\b(?:int64|int32|uint8|float64|rune|byte)\b|\bstruct\s*\{"),
    ("python", 2.5, "`{}`", r"^\s*(?:async )?def \w+\(.*\)\s*(?:->\s*[^:\n]+)?:|^\s*class \w+(?:\([^)\n]*\))?:\s*$"),
    ("python", 2, "`{}`",
     r"\belif\b|^\s*except(?: \w+(?: as \w+)?)?:|\blambda \w*:|__\w+__|\[[^\]\n]* for [\w, ]+ in \b"
     r"|^\s*raise \w|\bis not None\b|\bis None\b|\byield from\b|\bwith [\w.]+\(.*\) as \w+:|\bif not \w+:"
     r"|^\s*match [^\n{]+:\s*$|\b(?:functools|itertools|collections|sys|os\.path|pathlib|typing|asyncio|subprocess)\.\w"),
    ("python", 1.5, "`{}`",
     r"\b(?:True|False)\b|\bnot in\b|\bf\"[^\"\n]*\{|\b(?:dict|list|tuple|set|Optional|Union)\[|\bprint\("
     r"|^\s*(?:if|elif|else|for|while|try|finally|with)\b[^\n;{]*:\s*$"),
    ("python", 1, "`{}`",
     r"[(,] ?\w+=(?!=)[\w\"'\[({]|\bself\.\w|^\s*@\w[\w.]*(?:\(.*\))?\s*$|\brange\(|\.append\(|\.items\(\)|: (?:int|str|float|bool|bytes)\b|^\s*pass\s*$"),
    ("typescript", 2, "`{}`",
     r": (?:string|number|boolean|any|unknown|void|never)\b|\binterface \w+(?:<[^>\n]*>)? (?:extends [^{\n]+)?\{"
     r"|===|!==|\bconsole\.\w+\(|\bPromise<|\w\?: \w|\bas (?:const|string|number|any|unknown)\b|\bimplements\b"
     r"|=\s*(?:async\s*)?\([^)\n]*\)\s*(?::\s*[^=\n]+)?=>|\bprocess\.env\b|\bJSON\.(?:stringify|parse)\b"
     r"|(?<![\w>])\([^()\n]*\)\s*=>|\(\w+ =>|\b(?:Object|Array|Math|Number)\.\w+\(|\bkeyof\b"
     r"|\b(?:Partial|Pick|Omit|Record|Readonly|ReturnType|Parameters)<"),
    ("typescript", 1.5, "`{}`",
     r"\bfunction\*?\s*\w*\s*\(|\b(?:undefined|null)\b|\bthis\.\w|\bnew [A-Z]\w*[(<]|\bconst [a-z]\w*\b|\?\?"
     r"|\(\s*\)\s*=>|\b\w+\[\]|\b(?:useState|useEffect|document|window)\b"),
    ("typescript", 1, "`{}`",
     r"\breadonly\b|\b(?:private|protected|public) (?:readonly )?\w+\s*[:(=]|\.then\(|\.length\b|\btype \w+(?:<[^>\n]*>)? = "
     r"|\bexpect\(|\b(?:describe|it)\(\"|\bextends\b"),
)

SIGNALS: tuple[Signal, ...] = tuple(
    Signal(language, re.compile(pattern, re.MULTILINE), float(weight), reason)
    for language, weight, reason, pattern in _TABLE
)
