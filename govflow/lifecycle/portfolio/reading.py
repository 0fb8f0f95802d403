"""Reading a portfolio document (YAML or JSON) and turning pydantic's errors into reasons people can act on:
the path of the offending value, its YAML line, the rule it breaks; rows with a broken shape are set aside so
the rule checks can judge the others. :func:`listed` puts any import's reasons in row order, capped."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from govflow.lifecycle.portfolio.rules import Existing
from govflow.lifecycle.portfolio.schema import DOC_CLAUSE, SCHEMA_CODE, Loc, PortfolioDocument
from govflow.states import inputs
from govflow.states.errors import InvalidInput, UsageError
from govflow.states.verdict import Reason


class _YamlLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML that refuses duplicate keys: a second ``catalog:`` silently replacing the first loses data."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.value in seen:
                first = seen[key_node.value].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"键“{key_node.value}”重复（首次出现于第 {first} 行），后者会覆盖前者 / "
                    f"duplicate key {key_node.value!r} (first at line {first})",
                    key_node.start_mark,
                )
            seen[key_node.value] = key_node
        result: dict[Any, Any] = super().construct_mapping(node, deep)
        return result


# Dates stay text for pydantic to parse: an impossible date (2026-13-01) is then a schema error with its path
# instead of a crash in the YAML constructor, and YAML and JSON documents are validated alike.
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_data(path: Path) -> Any:
    """YAML (``.yaml``/``.yml``) or JSON by extension; anything unreadable is a :class:`UsageError`."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise UsageError(
            f"无法识别文件 {path} 的格式：项目组合文档须为 .yaml、.yml 或 .json 文件",
            f"cannot tell the format of {path}: a portfolio document is a .yaml, .yml or .json file",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise UsageError(f"文件 {path} 不存在", f"file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"文件 {path} 不是 UTF-8 编码（第 {exc.start} 字节）：请另存为 UTF-8",
            f"file {path} is not UTF-8 (byte {exc.start}); save it as UTF-8",
        ) from exc
    except OSError as exc:
        raise UsageError(
            f"无法读取文件 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from exc
    if suffix == ".json":
        try:
            return inputs.loads(text)
        except inputs.JsonRefused as exc:  # parsed, but a key given twice or nesting too deep: named, 422
            raise InvalidInput(
                [Reason(SCHEMA_CODE, DOC_CLAUSE, f"文件 {path}：{exc.zh}", f"{path}: {exc.en}", exc.path)]
            ) from exc
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"文件 {path} 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}",
                f"{path} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}",
            ) from exc
    try:
        return yaml.load(text, Loader=_YamlLoader)  # SafeConstructor only: no arbitrary objects
    except (
        RecursionError
    ) as exc:  # nesting deeper than the pure-Python loader can follow (libyaml stops first)
        raise UsageError(
            f"文件 {path} 嵌套过深，不是可导入的 YAML", f"{path} nests too deep to be loaded as YAML"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where_zh = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "某处"
        where_en = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(
            f"文件 {path} 不是有效的 YAML：{where_zh}，{problem}",
            f"{path} is not valid YAML: {where_en}: {problem}",
        ) from exc


def parse_file(path: Path) -> PortfolioDocument:
    """Read and validate a portfolio document; every shape error is reported at once.

    For checking a document a person wrote, prefer :func:`parse_document` and :func:`load`, which report the
    rule breaches of the rows that parsed together with the shape errors of the others.
    """
    parsed = parse_document(path)
    if parsed.reasons:
        raise InvalidInput(parsed.reasons)
    return parsed.doc


#: lists whose entries are rows: set aside whole when their shape is wrong (the document's top level)
_ROW_LISTS = ("departments", "users", "projects", "evidence")
#: the lists of a project whose entries are rows of their own
_PROJECT_ROW_LISTS = ("catalog", "agreements", "opinions", "reviews")
#: a row's position in a path (a project's child row included), for :meth:`ParsedDocument.original`
_ROW_IN_PATH = re.compile(
    rf"(?<![.\w])({'|'.join(_ROW_LISTS)})\[(\d+)\](?:\.({'|'.join(_PROJECT_ROW_LISTS)})\[(\d+)\])?"
)


@dataclass(frozen=True)
class ParsedDocument:
    """A document read leniently: the rows with the right shape, and why the others were set aside."""

    #: the rows that parsed (lists that lost rows are shorter than in the file)
    doc: PortfolioDocument
    #: one ``SCHEMA`` reason per shape error, with the paths and lines of the file
    reasons: tuple[Reason, ...] = ()
    #: list path in the file (``projects``, ``projects[3].catalog``) → the file's indices of the rows kept,
    #: for the lists that lost rows
    kept: dict[str, list[int]] = field(default_factory=dict)
    #: codes of the rows set aside (departments, projects, (project, catalog item)): count them as known
    set_aside: Existing = field(default_factory=lambda: Existing())

    def original(self, reason: Reason) -> Reason:
        """``reason`` (found in :attr:`doc`) with the paths it names as they are in the file."""
        if not self.kept:
            return reason

        def fix(text: str) -> str:
            return _ROW_IN_PATH.sub(self._original_row, text)

        detail = {k: fix(v) if isinstance(v, str) else v for k, v in reason.detail.items()}
        path = fix(reason.path) if reason.path else reason.path
        return replace(
            reason, message=fix(reason.message), message_en=fix(reason.message_en), path=path, detail=detail
        )

    def _original_row(self, m: re.Match[str]) -> str:
        name, i = m[1], int(m[2])
        i = self.kept[name][i] if name in self.kept else i
        out = f"{name}[{i}]"
        if m[3] is not None:
            child, j = f"{out}.{m[3]}", int(m[4])
            out = f"{child}[{self.kept[child][j] if child in self.kept else j}]"
        return out


def parse_document(path: Path) -> ParsedDocument:
    """Read a portfolio document and validate its shape row by row: every shape error, and the rows that parsed.

    A document whose frame is broken (a top-level key that is unknown or not a list) cannot be split into rows;
    it raises :class:`InvalidInput` with its shape errors alone.
    """
    data = read_data(path)
    if data is None:
        raise UsageError(f"文件 {path} 是空的", f"file {path} is empty")
    if not isinstance(data, dict):
        raise UsageError(
            f"文件 {path} 的顶层须为映射（departments、users、projects、evidence），而不是 {type(data).__name__}",
            f"the top level of {path} must be a mapping (departments, users, projects, evidence), "
            f"not {type(data).__name__}",
        )
    try:
        return ParsedDocument(PortfolioDocument.model_validate(data))
    except ValidationError as exc:
        lines = _yaml_line_finder(path) if path.suffix.lower() in (".yaml", ".yml") else None
        reasons = tuple(validation_reasons(exc, PortfolioDocument, line_of=lines))
        rows = {_row_at(tuple(err["loc"])) for err in exc.errors(include_url=False)}
    if None in rows:
        raise InvalidInput(reasons)
    rest, kept, set_aside = _set_aside(data, {r for r in rows if r is not None})
    try:
        doc = PortfolioDocument.model_validate(rest)
    except ValidationError:  # pragma: no cover - no row constrains another's shape; never guess if one does
        raise InvalidInput(reasons) from None
    return ParsedDocument(doc, reasons, kept, set_aside)


def _row_at(loc: Loc) -> Loc | None:
    """The row a shape error is in (``('projects', 2, 'catalog', 1)``), or None when it is in the frame."""
    if len(loc) >= 4 and loc[0] == "projects" and loc[2] in _PROJECT_ROW_LISTS and isinstance(loc[3], int):
        return loc[:4]
    if len(loc) >= 2 and loc[0] in _ROW_LISTS and isinstance(loc[1], int):
        return loc[:2]
    return None


def _set_aside(data: dict[str, Any], rows: set[Loc]) -> tuple[dict[str, Any], dict[str, list[int]], Existing]:
    """``data`` without ``rows`` (copied where it changes), the indices kept, the codes of the rows removed."""
    rest = dict(data)
    kept: dict[str, list[int]] = {}
    departments: set[str] = set()
    projects: set[str] = set()
    items: set[tuple[str, str]] = set()

    def keep(values: list[Any], prefix: Loc) -> list[Any]:
        indices = [i for i in range(len(values)) if (*prefix, i) not in rows]
        if len(indices) < len(values):
            kept[format_loc(prefix)] = indices
        return [values[i] for i in indices]

    if any(r[:1] == ("departments",) for r in rows):
        departments.update(_codes(rest["departments"][r[1]] for r in rows if r[0] == "departments"))
        rest["departments"] = keep(rest["departments"], ("departments",))
    for name in ("users", "evidence"):
        if any(r[0] == name for r in rows):
            rest[name] = keep(rest[name], (name,))
    if any(r[0] == "projects" for r in rows):
        projects_in = rest["projects"]
        out = []
        for i, p in enumerate(projects_in):
            code = next(iter(_codes([p])), None)
            if ("projects", i) in rows:
                if code is not None:
                    projects.add(code)
                    catalog = p.get("catalog")
                    items.update((code, c) for c in _codes(catalog if isinstance(catalog, list) else []))
                continue
            children = [r for r in rows if r[:2] == ("projects", i) and len(r) == 4]
            if children:
                p = dict(p)
                for child in {r[2] for r in children}:
                    if child == "catalog" and code is not None:
                        items.update(
                            (code, c) for c in _codes(p["catalog"][r[3]] for r in children if r[2] == child)
                        )
                    p[child] = keep(p[child], ("projects", i, child))
            out.append(p)
        kept_projects = [i for i in range(len(projects_in)) if ("projects", i) not in rows]
        if len(kept_projects) < len(projects_in):
            kept["projects"] = kept_projects
        rest["projects"] = out
    return (
        rest,
        kept,
        Existing(frozenset(departments), projects=frozenset(projects), catalog_items=frozenset(items)),
    )


def _codes(rows: Iterable[Any]) -> set[str]:
    """The ``code`` of each row that has a readable one (as the models read it: numbers as text, trimmed)."""
    out = set()
    for row in rows:
        code = row.get("code") if isinstance(row, dict) else None
        if isinstance(code, str | int) and not isinstance(code, bool) and str(code).strip():
            out.add(str(code).strip())
    return out


def _yaml_line_finder(path: Path) -> Callable[[Loc], int | None]:
    """Map a pydantic location to the 1-based line of the YAML node (or of its nearest written parent)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=_YamlLoader)
    except (OSError, yaml.YAMLError):
        root = None

    def line_of(loc: Loc) -> int | None:
        node = root
        line = None
        for part in loc:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
                if found is None:
                    break
                line, node = found[0].start_mark.line + 1, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    return line_of


def format_loc(loc: Loc) -> str:
    """``('projects', 3, 'catalog', 2, 'share_type')`` → ``projects[3].catalog[2].share_type``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += f".{part}" if out else part
    return out or "$"


def _model_fields_at(root: type[BaseModel], loc: Loc) -> list[str]:
    """The field names allowed where ``loc`` points (to suggest the right spelling of an unknown key)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        info = model.model_fields.get(part)
        if info is None:
            break
        model = _unwrap(info.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """list[X] / X | None / dict[K, X] → X (the model inside, if any)."""
    for _ in range(4):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) is None or not args:
            return annotation
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        annotation = models[0] if models else args[-1]
    return annotation


_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "string_type": ("文本", "text"),
    "int_type": ("整数", "an integer"),
    "int_parsing": ("整数", "an integer"),
    "int_from_float": ("整数", "an integer"),
    "decimal_type": ("数值", "a number"),
    "decimal_parsing": ("数值", "a number"),
    "float_type": ("数值", "a number"),
    "float_parsing": ("数值", "a number"),
    "date_type": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "date_parsing": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": ("不带时刻的日期（YYYY-MM-DD）", "a date without a time (YYYY-MM-DD)"),
    "list_type": ("列表", "a list"),
    "dict_type": ("映射", "a mapping"),
    "model_type": ("映射（带字段的对象）", "a mapping of fields"),
    "model_attributes_type": ("映射（带字段的对象）", "a mapping of fields"),
    "bool_type": ("是/否（true/false）", "true or false"),
    "bool_parsing": ("是/否（true/false）", "true or false"),
}


def _rule(err: Any, root: type[BaseModel], loc: Loc) -> tuple[str, str]:
    """(zh, en): the rule the value breaks and how to fix it."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    shown, shown_en = _show(value), _show(value, en=True)
    if kind == "missing":
        return "缺少必填字段；请补上该字段", "required field is missing; add it"
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else ""
        allowed = _model_fields_at(root, loc[:-1])
        close = difflib.get_close_matches(name, allowed, n=1)
        hint_zh = f"是否应为 {close[0]}？" if close else ""
        hint_en = f" Did you mean {close[0]}?" if close else ""
        listed = "、".join(allowed)
        return (
            f"不是可识别的字段（可能拼写错误）；{hint_zh}此处允许的字段：{listed}",
            f"unknown field (a typo?).{hint_en} Allowed here: {', '.join(allowed)}",
        )
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", ""))
        return (
            f"取值 {shown} 不在允许范围内；允许的值：{expected.replace(' or ', '、').replace(', ', '、')}，请改为其中之一",
            f"value {shown_en} is not allowed; use one of {expected}",
        )
    if kind == "authorized":
        return (
            f"取值 {shown} 无效；须为 all（所有政务部门）或部门统一社会信用代码的列表",
            f"value {shown_en} is invalid; use 'all' (every department) or a list of department credit codes",
        )
    if kind in _TYPE_NAMES and (kind.endswith("_parsing") or kind.endswith("_inexact")):
        zh, en = _TYPE_NAMES[kind]
        return f"取值 {shown} 不是有效的{zh}；请更正", f"value {shown_en} is not {en}"
    if kind in _TYPE_NAMES:
        zh, en = _TYPE_NAMES[kind]
        return (
            f"取值 {shown} 类型不符；应为{zh}，请更正",
            f"value {shown_en} has the wrong type; it must be {en}",
        )
    if kind in ("string_too_short", "too_short"):
        return "不能为空；请填写内容", "must not be empty; fill it in"
    if kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length")
        return f"过长；最多 {limit} 个字符，请缩短", f"too long; at most {limit} characters"
    if kind == "finite_number":
        return f"取值 {shown} 不是有限的数值；请填写金额或数量", f"value {shown_en} is not a finite number"
    if kind == inputs.ERROR_TYPE:
        return f"取值 {shown} {ctx['zh']}", f"value {shown_en} {ctx['en']}"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        op_zh = "不得大于" if kind == "less_than_equal" else "须小于"
        op_en = "at most" if kind == "less_than_equal" else "less than"
        return f"取值 {shown} {op_zh} {bound}；请更正", f"value {shown_en} must be {op_en} {bound}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        op_zh = "不得小于" if kind == "greater_than_equal" else "须大于"
        op_en = "at least" if kind == "greater_than_equal" else "greater than"
        return f"取值 {shown} {op_zh} {bound}；请更正", f"value {shown_en} must be {op_en} {bound}"
    if kind in ("decimal_max_places", "decimal_max_digits"):
        return (
            f"取值 {shown} 小数位过多；金额以元为单位，最多两位小数（分）",
            f"value {shown_en} has too many decimal places; amounts are yuan with at most 2 places (fen)",
        )
    return f"取值 {shown} 无效：{err['msg']}", f"value {shown_en} is invalid: {err['msg']}"


def _show(value: Any, en: bool = False) -> str:
    if isinstance(value, dict | list):
        return "(a structure)" if en else "（结构）"
    if isinstance(value, str):
        value = inputs.visible(value if len(value) <= 40 else value[:39] + "…")
        return repr(value) if en else f"“{value}”"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def validation_reasons(
    exc: ValidationError,
    root: type[BaseModel],
    *,
    prefix: Loc = (),
    line_of: Callable[[Loc], int | None] | None = None,
    where: Callable[[Loc], tuple[str, str]] | None = None,
) -> list[Reason]:
    """One ``SCHEMA`` reason per pydantic error: field first, then the rule, then the fix.

    ``prefix`` is put before each location (``('rows', 3)`` for a CSV row); ``line_of`` finds the YAML line
    of a location; ``where`` overrides how the location is described (zh, en) in the message.
    """
    reasons = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        path = format_loc(prefix + loc)
        zh, en = _rule(err, root, loc)
        detail: dict[str, Any] = {"type": err["type"]}
        if where is not None:
            where_zh, where_en = where(loc)
        else:
            line = line_of(loc) if line_of is not None else None
            where_zh = f"（第 {line} 行）" if line else ""
            where_en = f" (line {line})" if line else ""
            if line:
                detail["line"] = line
        reasons.append(
            Reason(
                SCHEMA_CODE,
                DOC_CLAUSE,
                f"字段 {path}{where_zh}：{zh}",
                f"field {path}{where_en}: {en}",
                path,
                detail,
            )
        )
    return reasons


#: problems listed before the rest are only counted (a file with a wrong column has a million of them)
MAX_REASONS = 1000
_ROW_ORDER = {name: i for i, name in enumerate(_ROW_LISTS)} | {n: i for i, n in enumerate(_PROJECT_ROW_LISTS)}
_INDEX = re.compile(r"(\w+)\[(\d+)\]")


def _row_key(path: str | None) -> tuple[tuple[int, int], ...]:
    """The row a path names, as a sort key in file order: ``rows[3].date`` → ((0, 3),),
    ``projects[2].agreements[0].items[1].due`` → ((2, 2), (1, 0)) (a project's child rows are rows too)."""
    found = _INDEX.findall(path or "")[:2]
    if len(found) == 2 and not (found[0][0] == "projects" and found[1][0] in _PROJECT_ROW_LISTS):
        found = found[:1]
    return tuple((_ROW_ORDER.get(name, 0), int(i)) for name, i in found)


def too_many(unlisted_rows: int, *, unit_zh: str = "行", unit_en: str = "rows", path: str = "rows") -> Reason:
    """The last reason of a long report: how many rows with problems were not listed."""
    return Reason(
        "TOO_MANY_ERRORS",
        DOC_CLAUSE,
        f"另有 {unlisted_rows} {unit_zh}有误，未逐一列出（只列出前 {MAX_REASONS} 个问题）；"
        "请先更正以上问题，再重新导入",
        f"{unlisted_rows} more {unit_en} have problems that are not listed (only the first "
        f"{MAX_REASONS} problems are); correct these and import again",
        path,
        {"unlisted_rows": unlisted_rows, "listed": MAX_REASONS},
    )


def listed(
    reasons: Iterable[Reason],
    *,
    unlisted_rows: int = 0,
    unit_zh: str = "行",
    unit_en: str = "rows",
    path: str = "rows",
) -> list[Reason]:
    """Every reason in the order of the rows it names (shape, rule and reference problems of one row together),
    whole rows until :data:`MAX_REASONS` problems are listed, then :func:`too_many` for the rows left out (and
    ``unlisted_rows`` more that the caller already left unexplained)."""
    out: list[Reason] = []
    unlisted: set[tuple[tuple[int, int], ...]] = set()
    last: tuple[tuple[int, int], ...] | None = None
    for r in sorted(reasons, key=lambda r: _row_key(r.path)):
        key = _row_key(r.path)
        if len(out) >= MAX_REASONS and key != last:
            unlisted.add(key)
            continue
        if key not in unlisted:
            out.append(r)
            last = key
    if unlisted or unlisted_rows:
        out.append(too_many(len(unlisted) + unlisted_rows, unit_zh=unit_zh, unit_en=unit_en, path=path))
    return out
