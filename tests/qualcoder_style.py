"""Rewrite a ``.qdpx`` the way QualCoder imports then exports it (for round-trip tests).

Mimics ``src/qualcoder/refi.py`` of QualCoder (``RefiImport.import_project`` then
``RefiExport.project_xml``/``export_project``), as read in its source:

- import: the first ``User`` becomes the project's coder name (owner of sources and cases);
  a coding's owner is the user named by its selection's ``creatingUser``; a selection's
  ``Description`` becomes the coding's memo; a selection without ``Coding`` becomes an
  **annotation** whose text is that description (empty without one); ``Case/SelectionRef``
  is not read.
- export: every object gets a new random GUID (uuid4 hex split 8-4-4-4-12); ``Users`` are the
  distinct owners of codings and sources; codes keep name, colour, memo (as ``Description``)
  and nesting; one ``PlainTextSelection`` per (selection, code, owner), named after the
  selected text, with one ``Coding`` (no date) and the memo as ``Description``; annotations
  become ``Notes/Note`` (``PlainTextContent`` + an inner ``PlainTextSelection``) with a
  ``NoteRef`` in the source for the first one only; cases get an empty ``Description`` and
  their variables, no ``SelectionRef``; source texts go to ``sources/<guid>.txt`` in UTF-8
  with a BOM; the zip holds a ``sources/`` directory entry.

GUIDs come from a seeded generator so that a test is reproducible.
"""

from __future__ import annotations

import html
import io
import random
import uuid
import zipfile
from pathlib import Path

from lxml import etree

__all__ = ["rewrite_as_qualcoder"]

NS = "urn:QDA-XML:project:1.0"


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def rewrite_as_qualcoder(src: Path, dst: Path, seed: int = 0) -> dict:
    """Write ``dst``: ``src`` as QualCoder would export it after importing it.

    Returns:
        What QualCoder made of it: ``annotations`` (list of their texts), ``n_codings``,
        ``users`` (names exported).

    """
    rng = random.Random(seed)

    def guid() -> str:
        v = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        return "-".join([v[0:8], v[8:12], v[12:16], v[16:20], v[20:32]])

    with zipfile.ZipFile(src) as zf:
        root = etree.fromstring(zf.read("project.qde"))
        files = {n.rsplit("/", 1)[-1]: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    users = {u.get("guid"): u.get("name") for u in root.iter(_q("User"))}
    codername = next(iter(users.values()))
    date = "2026-11-30T10:00:00Z"

    # ---------------------------------------------------------------- import (QualCoder db)
    codes = []  # (old guid, name, colour, memo, parent old guid)

    def walk(el, parent):
        desc = el.find(_q("Description"))
        codes.append((el.get("guid"), el.get("name"), el.get("color") or "#777777",
                      desc.text if desc is not None and desc.text else "", parent))
        for child in el.findall(_q("Code")):
            walk(child, el.get("guid"))

    for c in root.find(_q("CodeBook")).find(_q("Codes")).findall(_q("Code")):
        walk(c, None)
    variables = [(v.get("guid"), v.get("name"), v.get("typeOfVariable"))
                 for v in root.iter(_q("Variable"))]
    cases = []
    for case in root.iter(_q("Case")):
        values = [(vv.find(_q("VariableRef")).get("targetGUID"), vv.find(_q("TextValue")).text)
                  for vv in case.findall(_q("VariableValue"))]
        cases.append((case.get("name"), values))
    sources, code_text, annotations = [], [], []
    for src_el in root.iter(_q("TextSource")):
        name = src_el.get("plainTextPath").split("://", 1)[-1]
        text = files[name].decode("utf-8-sig")
        desc = src_el.find(_q("Description"))
        sid = len(sources)
        sources.append({"name": src_el.get("name"), "fulltext": text, "owner": codername,
                        "memo": desc.text if desc is not None and desc.text else ""})
        for sel in src_el.findall(_q("PlainTextSelection")):
            a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            owner = users.get(sel.get("creatingUser"), "default")
            d = sel.find(_q("Description"))
            memo = d.text if d is not None and d.text else ""
            cods = sel.findall(_q("Coding"))
            for c in cods:
                cid = c.find(_q("CodeRef")).get("targetGUID")
                if (cid, sid, a, b, owner) not in {r[:5] for r in code_text}:
                    code_text.append((cid, sid, a, b, owner, memo))
            if not cods:
                annotations.append({"fid": sid, "pos0": a, "pos1": b, "memo": memo,
                                    "owner": owner})

    # ---------------------------------------------------------------- export
    owners = []
    for o in [r[4] for r in code_text] + [s["owner"] for s in sources]:
        if o not in owners:
            owners.append(o)
    user_guid = {o: guid() for o in owners}
    code_guid = {c[0]: guid() for c in codes}
    x = ['<?xml version="1.0" encoding="utf-8"?>\n<Project '
         'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
         f'name="projet_qualcoder.qda" origin="QualCoder 3.7" creatingUserGUID="{guid()}" '
         f'creationDateTime="{date}" xmlns="{NS}">\n<Users>\n']
    x += [f'<User guid="{g}" name="{html.escape(n)}" />\n' for n, g in user_guid.items()]
    x.append("</Users>\n<CodeBook>\n<Codes>\n")

    def code_xml(c):
        kids = [k for k in codes if k[4] == c[0]]
        out = (f'<Code guid="{code_guid[c[0]]}" name="{html.escape(c[1])}" isCodable="true" '
               f'color="{c[2]}"')
        if not c[3] and not kids:
            return out + " />\n"
        out += ">\n" + (f"<Description>{html.escape(c[3])}</Description>\n" if c[3] else "")
        return out + "".join(code_xml(k) for k in kids) + "</Code>\n"

    x += [code_xml(c) for c in codes if c[4] is None]
    x.append("</Codes>\n</CodeBook>\n")
    var_guid = {v[0]: guid() for v in variables}
    if variables:
        x.append("<Variables>\n")
        x += [f'<Variable guid="{var_guid[g]}" name="{html.escape(n)}" typeOfVariable="{t}" />\n'
              for g, n, t in variables]
        x.append("</Variables>\n")
    if cases:
        x.append("<Cases>\n")
        for name, values in cases:
            x.append(f'<Case guid="{guid()}" name="{html.escape(name)}">\n<Description />\n')
            x += [f'<VariableValue>\n<VariableRef targetGUID="{var_guid[g]}" />\n'
                  f"<TextValue>{html.escape(v or '')}</TextValue>\n</VariableValue>\n"
                  for g, v in values]
            x.append("</Case>\n")
        x.append("</Cases>\n")
    x.append("<Sources>\n")
    members, note_ref = {}, {}
    for sid, s in enumerate(sources):
        plain = guid() + ".txt"
        members[plain] = s["fulltext"].encode("utf-8-sig")
        x.append(f'<TextSource plainTextPath="internal://{plain}" '
                 f'creatingUser="{user_guid[s["owner"]]}" creationDateTime="{date}" '
                 f'guid="{guid()}" name="{html.escape(s["name"])}">\n')
        if s["memo"]:
            x.append(f"<Description>{html.escape(s['memo'])}</Description>\n")
        for cid, fid, a, b, owner, memo in code_text:
            if fid != sid:
                continue
            x.append(f'<PlainTextSelection guid="{guid()}" startPosition="{a}" '
                     f'endPosition="{b}" name="{html.escape(s["fulltext"][a:b])}" '
                     f'creatingUser="{user_guid[owner]}" creationDateTime="{date}">\n')
            if memo:
                x.append(f"<Description>{html.escape(memo)}</Description>\n")
            x.append(f'<Coding guid="{guid()}" creatingUser="{user_guid[owner]}" >\n'
                     f'<CodeRef targetGUID="{code_guid[cid]}" />\n</Coding>\n'
                     "</PlainTextSelection>\n")
        for ann in annotations:
            if ann["fid"] == sid:
                note_ref[id(ann)] = guid()
                x.append(f'<NoteRef targetGUID="{note_ref[id(ann)]}" />\n')
                break
        x.append("</TextSource>\n")
    x.append("</Sources>\n")
    if annotations:
        x.append("<Notes>\n")
        for ann in annotations:
            g = note_ref.get(id(ann)) or guid()
            x.append(f'<Note guid="{g}" creatingUser="{user_guid.get(ann["owner"], "")}" '
                     f'creationDateTime="{date}" >\n'
                     f"<PlainTextContent>{html.escape(ann['memo'])}</PlainTextContent>\n"
                     f'<PlainTextSelection guid="{guid()}" startPosition="{ann["pos0"]}" '
                     f'endPosition="{ann["pos1"]}" />\n</Note>\n')
        x.append("</Notes>\n")
    x.append("<Description>Projet exporté par QualCoder</Description>\n</Project>")
    qde = "".join(x).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", qde)
        zf.writestr("sources/", b"")
        for name, data in members.items():
            zf.writestr(f"sources/{name}", data)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    Path(dst).write_bytes(buf.getvalue())
    return {"annotations": [a["memo"] for a in annotations], "n_codings": len(code_text),
            "users": list(user_guid)}
