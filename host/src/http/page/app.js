// Sluice status page: polls the host's JSON API (/api/pipelines every 2 s,
// /api/answers every 5 s while the Answers view is open) and renders it with DOM
// calls only. Every string from the API reaches the page through textContent or
// a text node, never innerHTML, so a payload like "<img onerror=...>" stays text.
'use strict';
(function () {
  const PIPELINES_MS = 2000;
  const ANSWERS_MS = 5000;
  // Fixed colours: the browser test looks for the consumed line's colour on the canvas.
  const COLORS = { consumed: '#1f6feb', rows: '#1a7f37', dead: '#cf222e' };
  const PALETTE = ['#1f6feb', '#1a7f37', '#bf8700', '#8250df', '#cf222e', '#0a7480', '#9a6700', '#6e7781'];
  const MAX_EVENTS = 15;
  const MAX_TABLE_ROWS = 100;

  // How to chart a named answer when its column shape alone would choose badly.
  // kind: line | bars | table | stat; value: the numeric column(s) to plot.
  const CHART_BY_NAME = {
    sentiment_distribution: { kind: 'bars', value: ['total'] },
    tweets_per_minute: { kind: 'line', value: ['tweets'] },
    clickstream_events_per_second: { kind: 'line', value: ['events'] },
    platform_iot_per_minute: { kind: 'line', value: ['mean'] },
    platform_revenue_per_hour: { kind: 'line', value: ['revenue'] },
    platform_reconciliation: { kind: 'table' },
    clickstream_hits_per_minute: { kind: 'line', value: ['hits'] },
    clickstream_hits_per_minute_bruteforce: { kind: 'table' },
  };
  const TIME_NAMES = /^(t|time|ts|second|minute|hour|day|date|timestamp|created_at|window_start|window_end|failed_at)$/;
  const DATETIME = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
  const NUMERIC = /^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

  const $ = (id) => document.getElementById(id);

  /** Builds an element. attrs: class, text, testid (data-testid), or plain attributes. */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = String(v);
        else if (k === 'testid') e.dataset.testid = v;
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const kid of kids) if (kid != null) e.append(kid); // strings become text nodes
    return e;
  }

  function setText(node, text, value) {
    const s = String(text);
    if (node.textContent !== s) node.textContent = s;
    if (value !== undefined) node.dataset.value = value == null ? '' : String(value);
  }

  // ---- formatting -------------------------------------------------------------

  const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const numFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  const fmtInt = (n) => (n == null || !isFinite(n) ? '–' : intFmt.format(n));
  const fmtNum = (n) => (n == null || !isFinite(n) ? '–' : numFmt.format(n));
  const fmtRate = (n) => (n == null || !isFinite(n) ? '–' : `${numFmt.format(n)}/s`);
  const fmtMs = (n) => (n == null || !isFinite(n) ? '–' : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`);

  function compact(n) {
    if (n == null || !isFinite(n)) return '';
    const a = Math.abs(n);
    if (a >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
    if (a >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
    if (a >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
    return `${+n.toFixed(a < 10 ? 2 : 0)}`;
  }

  function fmtAgo(unix) {
    const s = Math.max(0, Math.round(Date.now() / 1000 - unix));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  /** uPlot axis labels for unix-second x values: HH:MM[:SS], with the date when the span is days. */
  function timeAxis(utc) {
    const pad = (n) => String(n).padStart(2, '0');
    return (u, vals, axis, space, incr) => vals.map((v) => {
      const d = new Date(v * 1000);
      const [mo, da, h, mi, se] = utc
        ? [d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
        : [d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
      if (incr >= 86400) return `${pad(mo)}-${pad(da)}`;
      if (incr >= 3600 && (u.scales.x.max - u.scales.x.min) > 86400) return `${pad(mo)}-${pad(da)} ${pad(h)}:${pad(mi)}`;
      return incr < 60 ? `${pad(h)}:${pad(mi)}:${pad(se)}` : `${pad(h)}:${pad(mi)}`;
    });
  }

  function clock(unix) {
    return new Date(unix * 1000).toLocaleTimeString('en-GB', { hour12: false });
  }

  /** "14:03:07 (12 s ago)", or "never". */
  function fmtWhen(unix) {
    if (unix == null) return 'never';
    return `${clock(unix)} (${fmtAgo(unix)})`;
  }

  function timeEl(unix) {
    if (unix == null) return el('span', { class: 'muted', text: '–' });
    const d = new Date(unix * 1000);
    return el('time', { datetime: d.toISOString(), title: d.toISOString(), text: clock(unix) });
  }

  const num = (v) => (typeof v === 'number' ? v : typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : NaN);

  // ---- polling ----------------------------------------------------------------

  async function getJson(url) {
    // a host that stops answering must show as an error, not freeze the page
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 10000);
    try {
      const r = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' }, signal: ctl.signal });
      if (!r.ok) throw new Error(`${url} answered HTTP ${r.status}`);
      return await r.json();
    } catch (e) {
      throw ctl.signal.aborted ? new Error(`${url} did not answer in 10 s`) : e;
    } finally {
      clearTimeout(timer);
    }
  }

  const failures = {};
  function reportFailure(what, err) {
    failures[what] = err ? `${what}: ${err.message || err}` : null;
    const msgs = Object.values(failures).filter(Boolean);
    const box = $('api-error');
    box.hidden = msgs.length === 0;
    setText(box, msgs.length ? `Cannot read the host's API (${msgs.join('; ')}). Retrying.` : '');
    document.body.classList.toggle('stale', msgs.length > 0);
  }

  /** Runs fn now and then every ms, never two at once. */
  function every(ms, fn) {
    let busy = false;
    const run = async () => {
      if (busy) return;
      busy = true;
      try { await fn(); } finally { busy = false; }
    };
    run();
    setInterval(run, ms);
    return run;
  }

  // ---- host -------------------------------------------------------------------

  function renderHost(h) {
    h = h || {};
    setText($('host-version'), h.version || '?');
    setText($('host-started'), h.started_at == null ? '?' : fmtWhen(h.started_at), h.started_at);
    for (const [id, ok] of [['kafka-reachable', h.kafka_reachable], ['clickhouse-reachable', h.clickhouse_reachable]]) {
      const node = $(id);
      setText(node, ok ? 'reachable' : ok === false ? 'unreachable' : '?', ok);
      node.classList.toggle('ok', ok === true);
      node.classList.toggle('bad', ok === false);
    }
    setText($('updated'), clock(Date.now() / 1000), Math.round(Date.now() / 1000));
  }

  // ---- pipelines --------------------------------------------------------------

  const cards = new Map(); // pipeline name -> card

  function stat(label, testid) {
    const dd = el('dd', { testid, text: '–' });
    return { node: el('div', { class: 'stat' }, el('dt', { text: label }), dd), dd };
  }

  function table(testid, headers) {
    const tbody = el('tbody');
    const t = el('table', { testid },
      el('thead', null, el('tr', null, ...headers.map(([h, cls]) => el('th', { scope: 'col', class: cls, text: h })))),
      tbody);
    return { node: el('div', { class: 'scroll tall' }, t), table: t, tbody };
  }

  function buildCard(name) {
    const c = { name };
    c.state = el('span', { class: 'badge', testid: 'state' });
    c.generation = el('span', { class: 'muted', testid: 'generation' });
    c.reason = el('p', { class: 'reason', testid: 'reason', role: 'status', hidden: true });
    const stats = [
      ['Consumed', 'total-consumed'], ['Consumed/s', 'rate-consumed'],
      ['Rows', 'total-rows'], ['Rows/s', 'rate-rows'],
      ['Dead letters', 'total-dead'], ['Dead/s', 'rate-dead'],
      ['Batch p50', 'latency-p50'], ['Batch p99', 'latency-p99'],
      ['Last insert', 'last-insert'], ['Last commit', 'last-commit'],
    ].map(([label, id]) => [id, stat(label, id)]);
    c.stats = Object.fromEntries(stats.map(([id, s]) => [id, s.dd]));
    c.chartBox = el('div', { class: 'chart', testid: 'chart', 'data-points': '0' });
    c.chartEmpty = el('p', { class: 'muted chart-empty', testid: 'chart-empty', text: 'Waiting for history…' });
    c.chain = el('ol', { class: 'chain', testid: 'chain' });
    c.events = el('ol', { class: 'events', testid: 'events' });
    c.noEvents = el('p', { class: 'muted', text: 'No swaps or rollbacks yet.' });
    c.partitions = table('partitions', [['Topic'], ['Partition', 'num'], ['State'], ['Lag', 'num'], ['Committed', 'num'], ['End', 'num'], ['Owner']]);
    c.dead = table('dead-letters', [['At'], ['Topic'], ['Partition', 'num'], ['Offset', 'num'], ['Plugin'], ['Code'], ['Message'], ['Payload']]);
    c.noDead = el('p', { class: 'muted', text: 'No dead letters.' });

    c.root = el('article', { class: 'pipeline', testid: 'pipeline', 'data-pipeline': name, 'aria-label': `Pipeline ${name}` },
      el('header', { class: 'p-head' },
        el('h2', { testid: 'pipeline-name', text: name }), c.state, c.generation),
      c.reason,
      el('div', { class: 'p-grid' },
        el('section', { class: 'box stats', 'aria-label': 'Counters' }, el('dl', null, ...stats.map(([, s]) => s.node))),
        el('section', { class: 'box' }, el('h3', { text: 'Plugin chain' }), c.chain),
        el('section', { class: 'box' }, el('h3', { text: 'Swaps, rollbacks and other events' }), c.events, c.noEvents),
        el('section', { class: 'box chart-wrap' },
          el('h3', { text: 'Throughput, last 10 minutes' }), c.chartBox, c.chartEmpty),
        el('section', { class: 'box wide' }, el('h3', { text: 'Partitions' }), c.partitions.node),
        el('section', { class: 'box wide' }, el('h3', { text: 'Last dead letters' }), c.dead.node, c.noDead)));

    c.resize = new ResizeObserver(() => drawChart(c));
    c.resize.observe(c.chartBox);
    return c;
  }

  function eventKind(text) {
    if (/refus/i.test(text)) return 'refused';
    if (/roll(ed)?[ -]?back/i.test(text)) return 'rollback';
    if (/swap/i.test(text)) return 'swap';
    if (/quarantin/i.test(text)) return 'quarantine';
    if (/resum/i.test(text)) return 'resume';
    if (/fail/i.test(text)) return 'failed';
    return 'other';
  }

  function renderEvents(c, events) {
    const items = (events || []).slice(-MAX_EVENTS).reverse().map((line) => {
      const s = String(line);
      const m = /^(\d{9,11})\s+(.*)$/s.exec(s);
      const at = m ? Number(m[1]) : null;
      const text = m ? m[2] : s;
      return el('li', { testid: 'event', 'data-kind': eventKind(text), class: `ev ev-${eventKind(text)}` },
        timeEl(at), ' ', el('span', { text }));
    });
    c.events.replaceChildren(...items);
    c.noEvents.hidden = items.length > 0;
  }

  function renderChain(c, plugins) {
    c.chain.replaceChildren(...(plugins || []).map((p) => {
      const prev = (p.previous || []).length;
      return el('li', { testid: 'plugin', 'data-index': p.index, title: p.path || '' },
        el('span', { class: 'plugin-name', text: p.name || `plugin ${p.index}` }), ' ',
        el('code', { class: 'hash', testid: 'plugin-version', text: String(p.version || '').slice(0, 12) }),
        prev ? el('span', { class: 'muted', text: ` (${prev} earlier version${prev === 1 ? '' : 's'} kept)` }) : null);
    }));
  }

  function renderPartitions(c, parts) {
    const rows = (parts || []).map((p) => el('tr', { testid: 'partition' },
      el('td', { text: p.topic }),
      el('td', { class: 'num', text: p.partition }),
      el('td', null, el('span', { class: `badge small st-${safeClass(p.state)}`, text: p.state })),
      el('td', { class: 'num', text: fmtInt(p.lag) }),
      el('td', { class: 'num', text: fmtInt(p.committed) }),
      el('td', { class: 'num', text: fmtInt(p.end) }),
      el('td', { text: p.owner == null ? '–' : p.owner })));
    c.partitions.tbody.replaceChildren(...rows);
  }

  function renderDead(c, dead) {
    const rows = (dead || []).slice(0, 20).map((d) => el('tr', { testid: 'dead-letter' },
      el('td', null, timeEl(d.at)),
      el('td', { text: d.topic }),
      el('td', { class: 'num', text: d.partition }),
      el('td', { class: 'num', text: d.offset }),
      el('td', { text: d.plugin == null ? '–' : d.plugin }),
      el('td', null, el('code', { text: d.code })),
      el('td', { class: 'wrap', text: d.message }),
      el('td', { class: 'wrap' }, el('code', { class: 'payload', text: d.payload }))));
    c.dead.tbody.replaceChildren(...rows);
    c.dead.node.hidden = rows.length === 0;
    c.noDead.hidden = rows.length > 0;
  }

  const safeClass = (s) => String(s || 'unknown').toLowerCase().replace(/[^a-z0-9-]/g, '-');

  /** History (cumulative totals every 5 s) -> per-second rates between samples. */
  function historyRates(history) {
    const t = [], consumed = [], rows = [], dead = [];
    const h = history || [];
    for (let i = 1; i < h.length; i++) {
      const a = h[i - 1], b = h[i];
      const dt = b.t - a.t;
      if (!(dt > 0)) continue;
      const rate = (k) => { const d = b[k] - a[k]; return d >= 0 ? d / dt : null; }; // a reset leaves a gap
      t.push(b.t); consumed.push(rate('consumed')); rows.push(rate('rows')); dead.push(rate('dead'));
    }
    return [t, consumed, rows, dead];
  }

  function drawChart(c) {
    const data = c.chartData;
    const width = Math.floor(c.chartBox.clientWidth);
    if (!data || width < 50) return; // hidden view: drawn once it has a size
    if (!c.chart) {
      c.chart = new uPlot({
        width, height: 220,
        cursor: { drag: { x: false, y: false, setScale: false } },
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{ space: 80, values: timeAxis(false) }, { size: 56, values: (u, vals) => vals.map(compact) }],
        series: [
          { value: (u, v) => (v == null ? '–' : clock(v)) },
          { label: 'consumed/s', stroke: COLORS.consumed, width: 2, value: (u, v) => fmtNum(v) },
          { label: 'rows/s', stroke: COLORS.rows, width: 2, dash: [6, 3], value: (u, v) => fmtNum(v) },
          { label: 'dead/s', stroke: COLORS.dead, width: 1.5, value: (u, v) => fmtNum(v) },
        ],
      }, data, c.chartBox);
    } else {
      if (c.chart.width !== width) c.chart.setSize({ width, height: 220 });
      c.chart.setData(data);
    }
  }

  function updateCard(c, p) {
    const state = String(p.state || 'unknown');
    setText(c.state, state);
    c.state.className = `badge st-${safeClass(state)}`;
    c.root.dataset.state = state;
    setText(c.generation, p.generation == null ? '' : `generation ${p.generation}`);
    c.reason.hidden = !p.reason;
    setText(c.reason, p.reason ? `${state === 'failed' ? 'Failed' : state === 'quarantined' ? 'Quarantined' : 'Reason'}: ${p.reason}` : '');

    const t = p.totals || {}, r = p.rates || {}, l = p.latency_ms || {};
    const s = c.stats;
    setText(s['total-consumed'], fmtInt(t.consumed), t.consumed);
    setText(s['total-rows'], fmtInt(t.rows), t.rows);
    setText(s['total-dead'], fmtInt(t.dead), t.dead);
    setText(s['rate-consumed'], fmtRate(r.consumed_per_s), r.consumed_per_s);
    setText(s['rate-rows'], fmtRate(r.rows_per_s), r.rows_per_s);
    setText(s['rate-dead'], fmtRate(r.dead_per_s), r.dead_per_s);
    s['rate-dead'].classList.toggle('bad', r.dead_per_s > 0);
    setText(s['latency-p50'], p.latency_ms ? fmtMs(l.p50) : 'no batch yet', l.p50);
    setText(s['latency-p99'], p.latency_ms ? fmtMs(l.p99) : 'no batch yet', l.p99);
    setText(s['last-insert'], fmtWhen(p.last_insert), p.last_insert);
    setText(s['last-commit'], fmtWhen(p.last_commit), p.last_commit);

    renderChain(c, p.plugins);
    renderEvents(c, p.events);
    renderPartitions(c, p.partitions);
    renderDead(c, p.dead_letters);

    c.chartData = historyRates(p.history);
    const points = c.chartData[0].length;
    c.chartBox.dataset.points = String(points);
    c.chartEmpty.hidden = points > 0;
    drawChart(c);
  }

  function renderPipelines(data) {
    renderHost(data.host);
    const list = $('pipeline-list');
    const pipelines = Array.isArray(data.pipelines) ? data.pipelines : [];
    const seen = new Set();
    pipelines.forEach((p, i) => {
      const name = String(p.name);
      seen.add(name);
      let c = cards.get(name);
      if (!c) { c = buildCard(name); cards.set(name, c); }
      if (list.children[i] !== c.root) list.insertBefore(c.root, list.children[i] || null);
      updateCard(c, p);
    });
    for (const [name, c] of cards) {
      if (seen.has(name)) continue;
      c.resize.disconnect();
      if (c.chart) c.chart.destroy();
      c.root.remove();
      cards.delete(name);
    }
    $('no-pipelines').hidden = pipelines.length > 0;
    document.body.dataset.pipelinesLoaded = 'true';
  }

  async function loadPipelines() {
    if (document.hidden) return;
    try {
      renderPipelines(await getJson('api/pipelines'));
      reportFailure('/api/pipelines', null);
    } catch (e) {
      reportFailure('/api/pipelines', e);
    }
  }

  // ---- answers ----------------------------------------------------------------

  const answerCards = new Map();

  function parseTime(v) {
    if (typeof v === 'number') return v > 1e11 ? v / 1000 : v; // unix ms or s
    if (typeof v !== 'string') return NaN;
    const s = v.trim();
    if (NUMERIC.test(s)) return parseTime(Number(s));
    if (!DATETIME.test(s)) return NaN;
    // ClickHouse DateTime text has no zone; the server runs in UTC.
    const iso = s.length === 10 ? `${s}T00:00:00Z` : s.replace(' ', 'T') + (/[Z+-]\d*:?\d*$/.test(s.slice(19)) ? '' : 'Z');
    return Date.parse(iso) / 1000;
  }

  function columnKind(name, rows, j) {
    const vals = rows.map((r) => r[j]).filter((v) => v != null && v !== '');
    if (!vals.length) return 'text';
    if (vals.every((v) => typeof v === 'string' && DATETIME.test(v.trim()))) return 'time';
    if (vals.every((v) => !isNaN(num(v)))) return TIME_NAMES.test(name) && vals.every((v) => num(v) > 1e8) ? 'time' : 'number';
    return 'text';
  }

  /** Picks a view for an answer: by name first, then by column shape. */
  function classify(a) {
    const cols = a.columns || [], rows = a.rows || [];
    const kinds = cols.map((c, j) => columnKind(String(c), rows, j));
    const idx = (k) => kinds.map((x, j) => (x === k ? j : -1)).filter((j) => j >= 0);
    const time = idx('time'), numbers = idx('number'), labels = idx('text');
    const named = CHART_BY_NAME[a.name] || {};
    const pick = (cands) => {
      const wanted = (named.value || []).map((v) => cols.indexOf(v)).filter((j) => numbers.includes(j));
      return wanted.length ? wanted : cands;
    };
    const shape = { kinds, time: time[0], labels, numbers };
    const canLine = time.length === 1 && numbers.length >= 1 && labels.length <= 1 && rows.length >= 2;
    const canBars = time.length === 0 && labels.length === 1 && numbers.length >= 1 && rows.length <= 50;
    const canStat = rows.length === 1 && numbers.length >= 1 && labels.length === 0 && time.length === 0;
    if (named.kind === 'table') return { ...shape, kind: 'table' };
    if (named.kind === 'line' && canLine) return { ...shape, kind: 'line', values: pick(labels.length ? numbers.slice(0, 1) : numbers) };
    if (named.kind === 'bars' && canBars) return { ...shape, kind: 'bars', values: pick(numbers.slice(0, 1)) };
    if (canStat) return { ...shape, kind: 'stat' };
    if (canLine) {
      const distinct = new Set(rows.map((r) => r[labels[0]])).size;
      if (labels.length && distinct <= PALETTE.length) return { ...shape, kind: 'line', values: numbers.slice(0, 1) };
      if (!labels.length) {
        // one y axis: leave out series too small to see beside the largest
        const peak = numbers.map((j) => Math.max(...rows.map((r) => Math.abs(num(r[j]))).filter(isFinite)));
        const top = Math.max(...peak);
        return { ...shape, kind: 'line', values: numbers.filter((j, i) => !(top > 0) || peak[i] * 20 >= top) };
      }
    }
    if (canBars) return { ...shape, kind: 'bars', values: numbers.slice(0, 1) };
    return { ...shape, kind: 'table' };
  }

  function cellText(v) {
    if (v == null) return '–';
    if (typeof v === 'number') return Number.isInteger(v) ? fmtInt(v) : fmtNum(v);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function answerTable(a, shape) {
    const cols = a.columns || [];
    const numeric = new Set(shape.numbers);
    const rows = (a.rows || []).slice(0, MAX_TABLE_ROWS);
    const t = el('table', { testid: 'answer-table' },
      el('thead', null, el('tr', null, ...cols.map((c, j) => el('th', { scope: 'col', class: numeric.has(j) ? 'num' : null, text: c })))),
      el('tbody', null, ...rows.map((r) => el('tr', { testid: 'answer-row' },
        ...cols.map((_, j) => el('td', { class: numeric.has(j) ? 'num' : null, text: cellText(r[j]) }))))));
    const more = (a.rows || []).length - rows.length;
    return el('div', { class: 'scroll' }, t, more > 0 ? el('p', { class: 'muted', text: `${more} more rows not shown` }) : null);
  }

  function answerBars(a, shape) {
    const cols = a.columns || [];
    const v = shape.values[0], lab = shape.labels[0];
    const rows = a.rows || [];
    const max = Math.max(0, ...rows.map((r) => num(r[v])).filter(isFinite));
    const others = shape.numbers.filter((j) => j !== v);
    return el('div', { class: 'bars', testid: 'answer-bars', role: 'list', 'aria-label': `${cols[v]} by ${cols[lab]}` },
      ...rows.map((r) => {
        const x = num(r[v]);
        const fill = el('span', { class: 'bar-fill' });
        fill.style.width = `${max > 0 && x > 0 ? (100 * x) / max : 0}%`;
        const extra = others.map((j) => `${cols[j]} ${cellText(num(r[j]))}`).join(', ');
        return el('div', { class: 'bar-row', role: 'listitem', testid: 'answer-row' },
          el('span', { class: 'bar-label', text: cellText(r[lab]), title: cellText(r[lab]) }),
          el('span', { class: 'bar-track' }, fill),
          el('span', { class: 'bar-value', text: extra ? `${cellText(x)} (${extra})` : cellText(x) }));
      }));
  }

  function answerStat(a, shape) {
    const cols = a.columns || [], row = (a.rows || [])[0] || [];
    return el('dl', { class: 'answer-stat', testid: 'answer-stat' },
      ...shape.numbers.map((j) => el('div', { testid: 'answer-row' },
        el('dt', { text: cols[j] }), el('dd', { text: cellText(num(row[j])) }))));
  }

  /** uPlot data for a time column and one or more value columns, or one value pivoted by a label. */
  function lineData(a, shape) {
    const cols = a.columns || [];
    const rows = (a.rows || []).map((r) => [parseTime(r[shape.time]), r]).filter(([t]) => isFinite(t)).sort((x, y) => x[0] - y[0]);
    if (shape.labels.length) {
      const lab = shape.labels[0], v = shape.values[0];
      const names = [...new Set(rows.map(([, r]) => String(r[lab])))].sort();
      const xs = [...new Set(rows.map(([t]) => t))];
      const at = new Map(xs.map((t, i) => [t, i]));
      const ys = names.map(() => xs.map(() => null));
      for (const [t, r] of rows) ys[names.indexOf(String(r[lab]))][at.get(t)] = num(r[v]);
      return { data: [xs, ...ys], labels: names.map((n) => `${n} ${cols[v]}`) };
    }
    return {
      data: [rows.map(([t]) => t), ...shape.values.map((j) => rows.map(([, r]) => { const x = num(r[j]); return isFinite(x) ? x : null; }))],
      labels: shape.values.map((j) => cols[j]),
    };
  }

  function answerLine(card, a, shape) {
    const box = el('div', { class: 'chart', testid: 'answer-chart' });
    const { data, labels } = lineData(a, shape);
    box.dataset.points = String(data[0].length);
    card.draw = () => {
      const width = Math.floor(box.clientWidth);
      if (width < 50) return;
      if (card.chart) { if (card.chart.width !== width) card.chart.setSize({ width, height: 220 }); return; }
      card.chart = new uPlot({
        width, height: 220,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        cursor: { drag: { x: false, y: false, setScale: false } },
        scales: { x: { time: true } },
        axes: [{ space: 80, values: timeAxis(true) }, { size: 56, values: (u, vals) => vals.map(compact) }],
        series: [{ label: 'time (UTC)', value: (u, v) => (v == null ? '–' : new Date(v * 1000).toISOString().slice(0, 19).replace('T', ' ')) }, ...labels.map((label, i) => ({
          label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: false, value: (u, v) => fmtNum(v),
        }))],
      }, data, box);
    };
    card.resize.observe(box);
    const details = el('details', null, el('summary', { text: 'Rows' }), answerTable(a, shape));
    return [box, details];
  }

  function buildAnswerCard(a) {
    const card = { name: a.name, sig: null, chart: null, draw: null };
    card.title = el('h3', { testid: 'answer-title' });
    card.meta = el('span', { class: 'muted', testid: 'answer-took' });
    card.body = el('div', { class: 'answer-body' });
    card.root = el('article', { class: 'box answer', testid: 'answer', 'data-answer': a.name },
      el('header', { class: 'a-head' }, card.title, card.meta), card.body);
    card.resize = new ResizeObserver(() => card.draw && card.draw());
    return card;
  }

  function updateAnswerCard(card, a) {
    setText(card.title, a.title || a.name);
    setText(card.meta, a.took_ms == null ? '' : `${a.took_ms} ms`);
    const sig = JSON.stringify([a.columns, a.rows, a.error]);
    if (sig === card.sig) return;
    card.sig = sig;
    if (card.chart) { card.chart.destroy(); card.chart = null; }
    card.draw = null;
    card.resize.disconnect();
    let kids;
    let kind;
    if (a.error) {
      kind = 'error';
      kids = [el('p', { class: 'error', testid: 'answer-error', text: a.error })];
    } else if (!(a.rows || []).length) {
      kind = 'empty';
      kids = [el('p', { class: 'muted', testid: 'answer-empty', text: 'No rows yet.' })];
    } else {
      const shape = classify(a);
      kind = shape.kind;
      if (kind === 'line') kids = answerLine(card, a, shape);
      else if (kind === 'bars') kids = [answerBars(a, shape)];
      else if (kind === 'stat') kids = [answerStat(a, shape)];
      else kids = [answerTable(a, shape)];
    }
    card.root.dataset.kind = kind;
    card.body.replaceChildren(...kids);
    if (card.draw) card.draw();
  }

  function renderAnswers(data) {
    const w = data.workload;
    setText($('answers-workload'), w ? `Workload: ${w}. Each answer is one query from sql/queries/.` : 'No workload recognised from the tables present.');
    const list = $('answer-list');
    const answers = Array.isArray(data.answers) ? data.answers : [];
    const seen = new Set();
    answers.forEach((a, i) => {
      const name = String(a.name);
      seen.add(name);
      let card = answerCards.get(name);
      if (!card) { card = buildAnswerCard(a); answerCards.set(name, card); }
      if (list.children[i] !== card.root) list.insertBefore(card.root, list.children[i] || null);
      updateAnswerCard(card, a);
    });
    for (const [name, card] of answerCards) {
      if (seen.has(name)) continue;
      card.resize.disconnect();
      if (card.chart) card.chart.destroy();
      card.root.remove();
      answerCards.delete(name);
    }
    $('no-answers').hidden = answers.length > 0;
    document.body.dataset.answersLoaded = 'true';
  }

  async function loadAnswers() {
    if (document.hidden || currentView() !== 'answers') return;
    try {
      renderAnswers(await getJson('api/answers'));
      reportFailure('/api/answers', null);
    } catch (e) {
      reportFailure('/api/answers', e);
    }
  }

  // ---- views ------------------------------------------------------------------

  const currentView = () => (location.hash === '#answers' ? 'answers' : 'pipelines');
  let answersNow = () => {};

  function showView() {
    const v = currentView();
    for (const name of ['pipelines', 'answers']) {
      $(`view-${name}`).hidden = name !== v;
      const tab = $(`tab-${name}`);
      if (name === v) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    document.body.dataset.view = v;
    if (v === 'answers') answersNow();
  }

  window.addEventListener('hashchange', showView);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) { loadPipelines(); answersNow(); } });
  showView();
  every(PIPELINES_MS, loadPipelines);
  answersNow = every(ANSWERS_MS, loadAnswers);
})();
