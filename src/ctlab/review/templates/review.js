"use strict";
(function () {
  const D = JSON.parse(document.getElementById("review-data").textContent);
  const token = new URLSearchParams(location.search).get("token") || "";
  const S = D.students, C = D.criteria;
  const $ = (id) => document.getElementById(id);
  const timings = window.reviewTimings = {ready: null, nav: []};
  let onlyUngraded = false, cur = 0, pairCursor = -1, view = [];

  const graded = (s) => s.points !== null && s.points !== undefined;
  // who, as people read it: "Okafor, Chidi" with a roster (the LMS id on hover), else the short id
  const who = (s) => s.label || s.file;
  const hover = (s) => s.id ? who(s) + " (" + s.id + ")" : who(s);
  const fmt = (x) => (Math.round(x * 100) / 100).toString();

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function rebuildView() {
    view = [];
    S.forEach((s, i) => { if (!onlyUngraded || !graded(s) || i === cur) view.push(i); });
  }

  const rows = [];
  function buildList() {
    const nav = $("list");
    const frag = document.createDocumentFragment();
    S.forEach((s, i) => {
      const d = el("div", who(s));
      d.dataset.index = i;
      d.addEventListener("click", () => go(i));
      rows.push(d);
      frag.appendChild(d);
    });
    nav.appendChild(frag);
  }

  function paintRow(i) {
    const s = S[i], d = rows[i];
    d.className = (i === cur ? "current " : "") + (graded(s) ? "done " : "") + (s.stale ? "stale " : "") +
      (s.pairs.length ? "flag" : "");
    d.hidden = onlyUngraded && graded(s) && i !== cur;
    d.title = graded(s) ? hover(s) + ": " + fmt(s.points) : hover(s);
  }

  function progress() {
    const n = S.filter(graded).length;
    $("progress").textContent = n + " of " + S.length + " graded";
    $("filter").hidden = !onlyUngraded;
  }

  function renderCriteria(s) {
    const ol = $("criteria");
    ol.textContent = "";
    let total = 0, all = true;
    C.forEach((c, k) => {
      const li = el("li");
      li.appendChild(el("strong", (k + 1) + ". " + c.title + " (" + fmt(c.points) + ")"));
      const row = el("div", undefined, "score");
      const have = s.criteria[c.id];
      const sug = s.suggested[c.id];
      const steps = [];
      for (let v = 0; v <= c.points + 1e-9; v += c.step) steps.push(Math.round(v * 100) / 100);
      steps.forEach((v) => {
        const b = el("button", fmt(v));
        b.type = "button";
        b.tabIndex = -1;
        if (have === v) b.classList.add("on");
        if (sug === v) b.classList.add("sug");
        b.addEventListener("click", () => setCriterion(c.id, v));
        row.appendChild(b);
      });
      li.appendChild(row);
      if (sug !== undefined) li.appendChild(el("div", "suggested " + fmt(sug) + ": " + (s.why[c.id] || ""), "muted"));
      ol.appendChild(li);
      if (have === undefined) all = false; else total += have;
    });
    const max = C.reduce((a, c) => a + c.points, 0);
    const some = Object.keys(s.criteria).length;
    $("total").textContent = !some && graded(s) ? fmt(s.points) + " / " + fmt(max) + " (a whole score, from a CSV)"
      : (all ? fmt(total) : (some ? fmt(total) + " so far" : "-")) + " / " + fmt(max);
  }

  function renderFacts(s) {
    const ul = $("facts");
    ul.textContent = "";
    if (!s.present) return;
    (D.facts[String(s.variant)] || []).forEach((f, k) => {  // the facts of the student's own variant
      const li = el("li", f.label + ": " + f.expected, s.present[k] ? "yes" : "no");
      li.title = "criterion " + f.criterion;
      ul.appendChild(li);
    });
  }

  function render() {
    const s = S[cur];
    $("file").textContent = who(s);
    $("file").title = hover(s);
    $("status").textContent = "grading status: " + s.status + (s.flag ? " | " + s.flag : "")
      + (s.pairs.length ? " | similar to others: s to compare" : "");
    $("note").hidden = !s.note;
    $("note").textContent = s.note;
    $("stale").hidden = !s.stale;
    $("others").hidden = !s.others.length;
    $("others").textContent = s.others.length ? "names values that are not the intruder's: " + s.others.join(", ") : "";
    $("summary").textContent = s.summary || "(no summary)";
    const comment = $("comment");
    if (document.activeElement !== comment) comment.value = s.comment || "";
    renderCriteria(s);
    renderFacts(s);
    closeCompare();
  }

  let last = cur;
  function go(i) {
    if (i < 0 || i >= S.length) return;
    const prev = last;
    cur = i;
    last = i;
    render();
    paintRow(prev);
    paintRow(i);
    rows[i].scrollIntoView({block: "nearest"});
  }

  function step(dir) {
    rebuildView();
    const at = view.indexOf(cur);
    const next = view[at + dir];
    if (next !== undefined) go(next);
  }

  function showError(text) {
    $("error").hidden = !text;
    $("error").textContent = text || "";
  }

  // Saves go one at a time, in the order made: two quick presses must reach the store in that order.
  let queue = Promise.resolve();
  function save(i, body) {
    queue = queue.then(() => send(i, body));
    return queue;
  }

  async function send(i, body) {
    $("saved").textContent = "saving...";
    try {
      const r = await fetch("/api/score", {method: "PUT", headers: {"Content-Type": "application/json",
        "X-Review-Token": token}, body: JSON.stringify(Object.assign({index: i}, body))});
      const out = await r.json();
      if (!r.ok) throw new Error(out.error || r.statusText);
      const s = S[i];
      s.points = out.points; s.comment = out.comment; s.stale = out.stale;
      if (i === cur) $("stale").hidden = !s.stale;
      s.criteria = Object.assign({}, out.criteria, s.criteria);  // later presses already queued win
      $("saved").textContent = "saved";
      showError("");
    } catch (e) {
      $("saved").textContent = "";
      showError("not saved: " + e.message);
    }
    if (i === cur) renderCriteria(S[i]);
    paintRow(i);
    progress();
  }

  function setCriterion(id, v) {
    const s = S[cur], crit = {};
    crit[id] = v;
    s.criteria = Object.assign({}, s.criteria, crit);
    renderCriteria(s);
    return save(cur, {criteria: crit});
  }

  function cycle(k) {
    const c = C[k];
    if (!c) return;
    const have = S[cur].criteria[c.id];
    const next = have === undefined ? c.points : Math.round((have - c.step) * 100) / 100 < 0 ? c.points : Math.round((have - c.step) * 100) / 100;
    setCriterion(c.id, next);
  }

  function accept() {
    const s = S[cur], crit = {};
    C.forEach((c) => { if (s.criteria[c.id] === undefined && s.suggested[c.id] !== undefined) crit[c.id] = s.suggested[c.id]; });
    if (!Object.keys(crit).length) return;
    s.criteria = Object.assign({}, s.criteria, crit);
    renderCriteria(s);
    save(cur, {criteria: crit});
  }

  function closeCompare() { $("compare").hidden = true; pairCursor = -1; }

  async function compare() {
    const s = S[cur];
    pairCursor += 1;
    if (pairCursor >= s.pairs.length) { closeCompare(); return; }
    const p = D.pairs[s.pairs[pairCursor]];
    const other = p.a === cur ? p.b : p.a;
    $("compare-title").textContent = p.kind + " similarity " + p.score + " of 100 (pair " + (pairCursor + 1) + " of " + s.pairs.length + ")";
    $("compare-left-file").textContent = who(s);
    $("compare-right-file").textContent = who(S[other]);
    if (p.kind === "summary") {
      $("compare-left").textContent = s.summary;
      $("compare-right").textContent = S[other].summary;
    } else {
      const get = async (i) => (await (await fetch("/api/code?index=" + i, {headers: {"X-Review-Token": token}})).json()).code;
      $("compare-left").textContent = await get(cur);
      $("compare-right").textContent = await get(other);
    }
    $("compare").hidden = false;
  }

  $("comment").addEventListener("keydown", (e) => { if (e.key === "Escape") { e.target.blur(); } e.stopPropagation(); });
  $("comment").addEventListener("change", (e) => save(cur, {comment: e.target.value}));

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t0 = performance.now();
    let nav = false;
    if (e.key === "j" || e.key === "ArrowDown") { step(1); nav = true; }
    else if (e.key === "k" || e.key === "ArrowUp") { step(-1); nav = true; }
    else if (/^[1-9]$/.test(e.key)) cycle(Number(e.key) - 1);
    else if (e.key === "a") accept();
    else if (e.key === "u") { onlyUngraded = !onlyUngraded; S.forEach((_, i) => paintRow(i)); progress(); }
    else if (e.key === "c") { $("comment").focus(); }
    else if (e.key === "s") compare();
    else if (e.key === "?") $("help").hidden = !$("help").hidden;
    else if (e.key === "Escape") { $("help").hidden = true; closeCompare(); }
    else return;
    e.preventDefault();
    if (nav) requestAnimationFrame(() => setTimeout(() => timings.nav.push(performance.now() - t0), 0));
  });

  if (D.superseded.length) {
    $("superseded").hidden = false;
    $("superseded").textContent = D.superseded.length + " superseded upload(s) not in the queue";
    $("superseded").title = D.superseded.join("\n");
  }
  buildList();
  S.forEach((_, i) => paintRow(i));
  progress();
  if (S.length) render();
  document.body.dataset.ready = "1";
  requestAnimationFrame(() => setTimeout(() => { timings.ready = performance.now(); }, 0));
})();
