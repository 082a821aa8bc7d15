/* lodestar — ops workspace (指标 · 预警 · 督办台账 · 纪要上传 · 数据导入 · 知识库 · 管理).
 * Plain JS, no libraries; CSP-safe: no inline code or style attributes, every server string is set
 * with textContent, charts are SVG built with DOM calls. One file serves every page: the view is
 * picked from location.pathname. */
(function () {
  'use strict';

  // --------------------------------------------------------- DOM helpers ---
  const $ = (id) => document.getElementById(id);
  const SVG_NS = 'http://www.w3.org/2000/svg';

  /**
   * Create an element. opts: {cls, text, attrs, data, hidden, type, title, value, on}.
   * Text is always set via textContent (never innerHTML).
   */
  function el(tag, opts, children) {
    const node = document.createElement(tag);
    const o = opts || {};
    if (o.cls) node.className = o.cls;
    if (o.type) node.type = o.type;
    if (o.text != null) node.textContent = String(o.text);
    if (o.title != null && o.title !== '') node.title = String(o.title);
    if (o.attrs) Object.keys(o.attrs).forEach((k) => { if (o.attrs[k] != null) node.setAttribute(k, String(o.attrs[k])); });
    if (o.data) Object.keys(o.data).forEach((k) => { if (o.data[k] != null) node.dataset[k] = String(o.data[k]); });
    if (o.value != null) node.value = String(o.value);
    if (o.hidden) node.hidden = true;
    if (o.on) Object.keys(o.on).forEach((k) => node.addEventListener(k, o.on[k]));
    (children || []).forEach((c) => {
      if (c == null || c === false) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  /** Create an SVG element with presentation attributes; optional text content. */
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    if (attrs) Object.keys(attrs).forEach((k) => { if (attrs[k] != null) node.setAttribute(k, String(attrs[k])); });
    if (text != null) node.textContent = String(text);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function option(value, label, selected) {
    const o = el('option', { text: label == null ? value : label, value });
    if (selected) o.selected = true;
    return o;
  }

  function field(label, control, cls) {
    return el('label', { cls: 'ws-field' + (cls ? ' ' + cls : '') }, [el('span', { cls: 'ws-field-label', text: label }), control]);
  }

  function section(title, sub, children, opts) {
    const o = opts || {};
    const head = el('div', { cls: 'card-head' }, [
      el('h2', { cls: 'card-title', text: title }, [sub ? el('span', { cls: 'card-sub', text: sub }) : null]),
      o.actions ? el('div', { cls: 'card-actions' }, o.actions) : null,
    ]);
    return el('section', { cls: 'card' + (o.cls ? ' ' + o.cls : ''), attrs: o.id ? { id: o.id } : null }, [head].concat(children || []));
  }

  function pageHead(title, sub, extra) {
    return el('div', { cls: 'page-head' }, [
      el('h1', { cls: 'page-title', text: title }, [el('span', { cls: 'page-sub', text: sub })]),
      extra || null,
    ]);
  }

  function notice(text, cls) { return el('p', { cls: 'notice' + (cls ? ' ' + cls : ''), text }); }

  function emptyRow(colspan, text) {
    return el('tr', { cls: 'empty-row' }, [el('td', { text: text || '暂无数据', attrs: { colspan } })]);
  }

  let toastTimer = null;
  function toast(msg) {
    const box = $('toast');
    box.textContent = msg;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 2600);
  }

  function showError(msg) {
    const banner = $('error-banner');
    banner.querySelector('.error-text').textContent = msg || '出错了';
    banner.hidden = false;
  }
  function clearError() { $('error-banner').hidden = true; }

  // ---------------------------------------------------------- formatting ---
  /** Add one to a string of decimal digits. */
  function incDigits(d) {
    const a = d.split('');
    let i = a.length - 1;
    for (; i >= 0; i--) {
      if (a[i] === '9') { a[i] = '0'; } else { a[i] = String(Number(a[i]) + 1); break; }
    }
    return i < 0 ? '1' + a.join('') : a.join('');
  }

  /**
   * Round a decimal string half-up (away from zero) after moving the point `shift` places right:
   * roundDec("0.96355", 2, 2) → "96.36". Exact (string arithmetic), like the Rust side.
   */
  function roundDec(value, shift, places) {
    let s = String(value).trim();
    if (/e/i.test(s)) s = Number(s).toFixed(20);
    let neg = false;
    if (s.charAt(0) === '-' || s.charAt(0) === '+') { neg = s.charAt(0) === '-'; s = s.slice(1); }
    const parts = s.split('.');
    let int = parts[0] || '0';
    let frac = parts[1] || '';
    int += frac.slice(0, shift).padEnd(shift, '0');
    frac = frac.slice(shift);
    let digits = (int + frac.slice(0, places).padEnd(places, '0')).replace(/^0+(?=\d)/, '');
    if (frac.charAt(places) >= '5') digits = incDigits(digits);
    while (digits.length <= places) digits = '0' + digits;
    const ip = digits.slice(0, digits.length - places);
    const fp = digits.slice(digits.length - places);
    if (/^0*$/.test(ip + fp)) neg = false;
    return (neg ? '-' : '') + ip + (places > 0 ? '.' + fp : '');
  }

  function group(numStr) {
    const neg = numStr.charAt(0) === '-';
    const body = neg ? numStr.slice(1) : numStr;
    const [int, frac] = body.split('.');
    const g = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + g + (frac != null ? '.' + frac : '');
  }

  const isNull = (v) => v == null || v === '';
  /** Money: half-up to two decimals with thousands separators (`1,234.50`); quantities whole. */
  function fmtAmount(v, places) {
    if (isNull(v)) return '—';
    return group(roundDec(v, 0, places == null ? 2 : places));
  }
  /** A fraction as a percent, half-up to two decimals: 0.96354 → 96.35%. */
  function fmtPct(v) { return isNull(v) ? '—' : roundDec(v, 2, 2) + '%'; }
  function fmtInt(v) { return isNull(v) ? '—' : group(String(v)); }
  /** Short axis labels: 1.2亿, 356万, 1,200. */
  function fmtShort(n) {
    const a = Math.abs(n);
    if (a >= 1e8) return (n / 1e8).toFixed(a >= 1e9 ? 0 : 1).replace(/\.0$/, '') + '亿';
    if (a >= 1e4) return (n / 1e4).toFixed(a >= 1e5 ? 0 : 1).replace(/\.0$/, '') + '万';
    return String(Math.round(n));
  }
  function fmtDate(s) {
    if (!s) return '—';
    const str = String(s);
    if (/^\d{4}-\d{2}-\d{2}T/.test(str)) return str.slice(0, 16).replace('T', ' ');
    return str;
  }
  function today() {
    const d = new Date();
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
  }
  function custName(c) {
    if (!c) return '—';
    if (typeof c === 'string') return c;
    return c.name_zh || c.name_en || c.id || '—';
  }

  const KB_NAMES = {
    product: '产品知识库', customer: '客户开发知识库', policy: '销售政策与服务知识库', meeting: '经营会议知识库', ops: '运营材料知识库',
  };
  const KB_IDS = ['product', 'customer', 'policy', 'meeting', 'ops'];
  const SENSITIVITIES = ['公开', '内部', '敏感', '机密'];
  const ROLES = [['admin', '管理员 admin'], ['ops', '运营 ops'], ['sales', '销售 sales'], ['viewer', '只读 viewer']];
  const ROLE_ZH = { admin: '管理员', ops: '运营', sales: '销售', viewer: '只读' };

  // --------------------------------------------------------------- state ---
  const state = { me: null, csrf: '', view: '', started: false };

  // ----------------------------------------------------------------- API ---
  class ApiError extends Error {
    constructor(message, status, code) { super(message); this.status = status; this.code = code; }
  }

  async function errorFromResponse(res) {
    let message = '';
    let code = '';
    try {
      const body = await res.json();
      if (body && body.error) { message = body.error.message || ''; code = body.error.code || ''; }
    } catch (_) { /* not JSON */ }
    if (res.status === 404 && !message) message = '接口不存在 (HTTP 404)';
    if (res.status === 413 && !message) message = '文件过大，超过上传上限 (HTTP 413)';
    if (res.status === 503 && !message) message = '服务繁忙，请稍后再试';
    return new ApiError(message || '出错了 (HTTP ' + res.status + ')', res.status, code);
  }

  function authHeaders(extra) {
    const h = Object.assign({ Accept: 'application/json' }, extra || {});
    if (state.csrf) h['X-CSRF-Token'] = state.csrf;
    return h;
  }

  async function send(method, path, init) {
    let res;
    try {
      res = await fetch(path, Object.assign({ method, credentials: 'same-origin' }, init));
    } catch (e) {
      throw new ApiError('网络错误，请检查连接', 0, 'network');
    }
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (res.status === 401 && path !== '/api/login' && path !== '/api/me') sessionExpired();
      throw err;
    }
    const text = await res.text();
    if (!text) return {};
    try { return JSON.parse(text); } catch (_) { return { text }; }
  }

  /** JSON request with the CSRF header on state changes. */
  function api(method, path, body) {
    const init = { headers: method === 'GET' ? { Accept: 'application/json' } : authHeaders({ 'Content-Type': 'application/json' }) };
    if (body !== undefined) init.body = JSON.stringify(body);
    return send(method, path, init);
  }

  /** Multipart upload (the browser sets the boundary). */
  function upload(path, form) {
    return send('POST', path, { headers: authHeaders(), body: form });
  }

  function qs(params) {
    const u = new URLSearchParams();
    params.forEach(([k, v]) => { if (v != null && v !== '' && v !== false) u.append(k, String(v)); });
    const s = u.toString();
    return s ? '?' + s : '';
  }

  /** Report an API failure in the banner (401 already went to the login form). */
  function fail(e, prefix) {
    if (e && e.status === 401) return;
    showError((prefix ? prefix + '：' : '') + ((e && e.message) || '出错了'));
  }

  const asList = (v, key) => (Array.isArray(v) ? v : (v && Array.isArray(v[key]) ? v[key] : []));

  // ---------------------------------------------------------------- auth ---
  function showShell(which) {
    $('boot').hidden = true;
    $('login-view').hidden = which !== 'login';
    $('app-view').hidden = which !== 'app';
  }

  function setMe(me) {
    state.me = me;
    state.csrf = (me && me.csrf_token) || '';
    $('user-info').textContent = me
      ? [me.user, ROLE_ZH[me.role] || me.role, me.clearance].filter((x) => x != null && x !== '').join(' · ')
      : '';
    document.querySelectorAll('#ws-nav a[data-roles]').forEach((a) => {
      a.hidden = !me || a.dataset.roles.split(' ').indexOf(me.role) === -1;
    });
  }

  const role = () => (state.me && state.me.role) || '';
  const canManage = () => role() === 'admin' || role() === 'ops';
  const canWrite = () => role() === 'admin' || role() === 'ops' || role() === 'sales';

  function showLogin(message) {
    setMe(null);
    showShell('login');
    $('login-error').textContent = message || '';
    $('login-submit').disabled = false;
    $('login-password').value = '';
    $('login-user').focus();
  }

  function sessionExpired() { showLogin('会话已过期，请重新登录'); }

  async function onLoginSubmit(ev) {
    ev.preventDefault();
    const username = $('login-user').value.trim();
    const password = $('login-password').value;
    const errLine = $('login-error');
    if (!username || !password) { errLine.textContent = '请输入用户名和密码'; return; }
    const btn = $('login-submit');
    btn.disabled = true;
    btn.textContent = '登录中…';
    errLine.textContent = '';
    try {
      const me = await api('POST', '/api/login', { username, password });
      $('login-password').value = '';
      enterApp(me);
    } catch (e) {
      if (e.status === 401) errLine.textContent = '用户名或密码错误';
      else if (e.status === 429) errLine.textContent = e.message || '尝试次数过多，请稍后再试';
      else errLine.textContent = e.message || '出错了';
    } finally {
      btn.disabled = false;
      btn.textContent = '登录';
    }
  }

  async function logout() {
    try { await api('POST', '/api/logout', {}); } catch (_) { /* logged out anyway */ }
    showLogin('');
  }

  function enterApp(me) {
    setMe(me);
    showShell('app');
    clearError();
    renderView();
  }

  // --------------------------------------------------------------- views ---
  const VIEWS = {};
  const TITLES = {
    metrics: '指标', alerts: '预警', ledger: '督办台账', minutes: '纪要上传', import: '数据导入', kb: '知识库', admin: '管理',
  };

  function currentView() {
    const p = location.pathname.replace(/\/+$/, '').split('/')[1] || '';
    return VIEWS[p] ? p : 'metrics';
  }

  function renderView() {
    const name = currentView();
    state.view = name;
    document.title = (TITLES[name] || '工作台') + ' · 北辰 lodestar';
    document.querySelectorAll('#ws-nav a').forEach((a) => {
      const on = a.dataset.view === name;
      a.classList.toggle('active', on);
      if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    document.body.classList.remove('panel-open');
    const root = clear($('ws-view'));
    root.dataset.view = name;
    document.body.dataset.view = name;
    VIEWS[name](root);
  }

  // ============================================================ 指标 ======
  /** Columns of the metric table: JSON field, header, kind, 口径 (DESIGN.md metric definitions). */
  const METRIC_COLS = [
    { f: 'actual', zh: '实际', kind: 'amount', tip: '实际 actual = 本期销售之和（金额按当月汇率折算为美元）' },
    { f: 'target', zh: '目标', kind: 'amount', tip: '目标 target = 本期目标之和；没有目标行的范围为空，比目标粒度更细的范围（如客户）目标为空' },
    { f: 'achievement', zh: '达成率', kind: 'ratio', tip: '达成率 = 实际 ÷ 目标；目标为 0、负数或缺失时为空（不显示 0 或 ∞）' },
    { f: 'yoy', zh: '同比', kind: 'ratio', tip: '同比 YoY = 实际(m) ÷ 实际(m − 12) − 1' },
    { f: 'mom', zh: '环比', kind: 'ratio', tip: '环比 MoM = 实际(m) ÷ 实际(m − 1) − 1' },
    { f: 'ytd_actual', zh: '年累计', kind: 'amount', tip: '年累计 YTD = 同年 1 月至本月的实际之和' },
    { f: 'ytd_yoy', zh: '年度同比', kind: 'ratio', tip: '年度同比 = 年累计实际(m) ÷ 年累计实际(m − 12) − 1' },
    { f: 'gap', zh: '缺口', kind: 'amount', tip: '缺口 gap = 目标 − 实际（正数 = 未完成的差额）' },
    { f: 'rank', zh: '排名', kind: 'rank', tip: '排名：按排序键（默认实际）降序的竞争排名（1, 2, 2, 4）；键为空的行不参与排名，合计行不排名' },
    { f: 'contribution', zh: '贡献', kind: 'ratio', tip: '贡献 = 本行实际 ÷ 查询范围（筛选后全部行）的实际合计' },
  ];
  const BY_OPTIONS = [
    ['country', '国家'],
    ['country,category', '国家×品类'],
    ['country,category,customer', '国家×品类×客户'],
  ];
  const DRILL_ORDER = ['country', 'category', 'customer'];
  const DIM_ZH = { region: '区域', country: '国家', category: '品类', spec: '规格', customer: '客户', owner: '销售负责人' };

  const mstate = { month: '', by: 'country', measure: 'amount', drill: [], seq: 0, latest: '' };

  function metricsParams(extra) {
    const p = [['month', mstate.month], ['by', effectiveBy()], ['measure', mstate.measure]];
    mstate.drill.forEach((d) => p.push(['filter', d.dim + '=' + d.code]));
    return p.concat(extra || []);
  }

  function effectiveBy() {
    if (!mstate.drill.length) return mstate.by;
    const last = mstate.drill[mstate.drill.length - 1].dim;
    const next = DRILL_ORDER[DRILL_ORDER.indexOf(last) + 1];
    return next || last;
  }

  function canDrill() {
    const by = effectiveBy().split(',');
    return by[by.length - 1] !== 'customer';
  }

  function cellText(col, v, measure) {
    if (col.kind === 'ratio') return fmtPct(v);
    if (col.kind === 'rank') return fmtInt(v);
    return fmtAmount(v, measure === 'quantity' ? 0 : 2);
  }

  function rowLabel(row) {
    const dims = (row.scope && row.scope.dims) || [];
    if (!dims.length) return '合计';
    return dims.map((d) => d.name_zh || d.code).join(' / ');
  }
  function rowKey(row) {
    const dims = (row.scope && row.scope.dims) || [];
    return dims.map((d) => d.code).join('|');
  }
  function reasonOf(row, f) {
    const r = (row.reasons || []).find((x) => x.field === f);
    return r ? r.reason : '';
  }

  VIEWS.metrics = function (root) {
    const month = el('input', { type: 'month', attrs: { id: 'metrics-month', 'aria-label': '月份' } });
    const by = el('select', { attrs: { id: 'metrics-by' } }, BY_OPTIONS.map(([v, l]) => option(v, l, v === mstate.by)));
    const measure = el('select', { attrs: { id: 'metrics-measure' } }, [option('amount', '销售额 amount'), option('quantity', '销量 quantity')]);
    const apply = el('button', { cls: 'btn btn-primary', type: 'submit', text: '查询', attrs: { id: 'metrics-apply' } });
    const xlsx = el('a', { cls: 'btn btn-ghost', text: '下载 Excel', attrs: { id: 'metrics-download-xlsx', href: '#', download: '' } });
    const csv = el('a', { cls: 'btn btn-ghost', text: '下载 CSV', attrs: { id: 'metrics-download-csv', href: '#', download: '' } });
    const form = el('form', { cls: 'toolbar', attrs: { id: 'metrics-form' } }, [
      field('月份', month), field('维度', by), field('度量', measure), apply,
      el('div', { cls: 'toolbar-spacer' }), xlsx, csv,
    ]);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (by.value !== mstate.by) mstate.drill = [];
      mstate.by = by.value;
      mstate.month = month.value || mstate.latest;
      mstate.measure = measure.value;
      loadMetrics();
    });

    const head = el('tr', null, [el('th', { text: '范围', title: '行的范围：国家 / 品类 / 客户（点击行下钻）' })].concat(
      METRIC_COLS.map((c) => el('th', { cls: c.kind === 'rank' ? 'num' : 'num', text: c.zh, title: c.tip, data: { field: c.f } }))));
    const table = el('table', { cls: 'data-table metrics-table', attrs: { id: 'metrics-table' } }, [
      el('thead', null, [head]), el('tbody'), el('tfoot'),
    ]);

    root.appendChild(pageHead('指标', 'Metrics · 达成、同比、环比、年累计、缺口、排名、贡献'));
    root.appendChild(section('查询', 'Query', [form, el('nav', { cls: 'breadcrumb', attrs: { id: 'metrics-breadcrumb', 'aria-label': '下钻路径' } })]));
    root.appendChild(section('指标表', 'Table', [
      el('p', { cls: 'table-caption', attrs: { id: 'metrics-caption' } }),
      el('div', { cls: 'table-wrap' }, [table]),
      el('p', { cls: 'hint', text: '点击国家行查看品类，点击品类行查看客户；“—”表示无法计算，悬停查看原因。' }),
    ]));
    root.appendChild(el('div', { cls: 'chart-grid' }, [
      section('达成率', 'Achievement by row', [chartBox('chart-achievement')]),
      section('24 个月趋势', 'Trend: actual · target · last year', [chartBox('chart-trend')]),
      section('品类结构', 'Category mix of actual', [chartBox('chart-mix')], { cls: 'chart-wide' }),
    ]));

    initMetrics();
  };

  function chartBox(id) {
    return el('div', { cls: 'chart-box' }, [
      svg('svg', { id, class: 'chart', viewBox: id === 'chart-mix' ? '0 0 1000 100' : '0 0 640 280', role: 'img', preserveAspectRatio: 'xMidYMid meet' }),
      el('p', { cls: 'chart-note', hidden: true }),
    ]);
  }

  async function initMetrics() {
    const measure = $('metrics-measure');
    measure.value = mstate.measure;
    if (!mstate.month) {
      try {
        const t = await api('GET', '/api/metrics' + qs([['measure', mstate.measure]]));
        mstate.latest = t.latest_month || (t.months && t.months[1]) || t.period || '';
        mstate.month = /^\d{4}-\d{2}$/.test(t.period || '') ? t.period : mstate.latest;
      } catch (e) {
        fail(e, '指标');
      }
    }
    $('metrics-month').value = mstate.month;
    loadMetrics();
  }

  function updateDownloads() {
    const q = metricsParams();
    $('metrics-download-xlsx').setAttribute('href', '/api/metrics/export' + qs([['format', 'xlsx']].concat(q)));
    $('metrics-download-csv').setAttribute('href', '/api/metrics/export' + qs([['format', 'csv']].concat(q)));
  }

  function renderBreadcrumb() {
    const nav = clear($('metrics-breadcrumb'));
    const crumbs = [{ label: '全部', n: 0 }].concat(mstate.drill.map((d, i) => ({ label: (DIM_ZH[d.dim] || d.dim) + '：' + d.name, n: i + 1 })));
    crumbs.forEach((c, i) => {
      if (i > 0) nav.appendChild(el('span', { cls: 'crumb-sep', text: '›', attrs: { 'aria-hidden': 'true' } }));
      const last = i === crumbs.length - 1;
      const b = el('button', { type: 'button', cls: 'crumb' + (last ? ' current' : ''), text: c.label, data: { depth: c.n } });
      if (last) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', () => {
        if (last) return;
        mstate.drill = mstate.drill.slice(0, c.n);
        loadMetrics();
      });
      nav.appendChild(b);
    });
    nav.appendChild(el('span', { cls: 'crumb-by', text: '按 ' + effectiveBy().split(',').map((d) => DIM_ZH[d] || d).join('×') }));
  }

  async function loadMetrics() {
    clearError();
    const seq = ++mstate.seq;
    const table = $('metrics-table');
    table.dataset.loading = '1';
    renderBreadcrumb();
    updateDownloads();
    try {
      const t = await api('GET', '/api/metrics' + qs(metricsParams()));
      if (seq !== mstate.seq || !$('metrics-table')) return;
      renderMetricTable(t);
      drawAchievement(t);
    } catch (e) {
      if (seq !== mstate.seq) return;
      fail(e, '指标');
      clear(table.tBodies[0]).appendChild(emptyRow(METRIC_COLS.length + 1, '加载失败'));
      clear(table.tFoot);
      $('metrics-caption').textContent = '';
      clear($('chart-achievement'));
      chartNote('chart-achievement', '加载失败');
    } finally {
      if (seq === mstate.seq && $('metrics-table')) delete $('metrics-table').dataset.loading;
    }
    loadTrend(seq);
    loadMix(seq);
  }

  function metricCells(tr, row, measure) {
    tr.appendChild(el('th', { cls: 'scope', text: rowLabel(row), attrs: { scope: 'row' } }));
    METRIC_COLS.forEach((c) => {
      const v = row[c.f];
      const td = el('td', { cls: 'num', text: cellText(c, v, measure), data: { field: c.f, value: v == null ? 'null' : v } });
      if (v == null) {
        td.classList.add('null');
        td.title = reasonOf(row, c.f) || '无法计算';
      } else if (c.f === 'achievement') {
        td.classList.add(Number(v) >= 1 ? 'good' : 'bad');
      } else if ((c.f === 'yoy' || c.f === 'mom' || c.f === 'ytd_yoy') && Number(v) < 0) {
        td.classList.add('neg');
      }
      tr.appendChild(td);
    });
  }

  function renderMetricTable(t) {
    const table = $('metrics-table');
    const body = clear(table.tBodies[0]);
    const foot = clear(table.tFoot);
    const drill = canDrill();
    const rows = t.rows || [];
    rows.forEach((row) => {
      const tr = el('tr', { cls: 'metrics-row' + (drill ? ' drillable' : ''), data: { key: rowKey(row), label: rowLabel(row) } });
      metricCells(tr, row, t.measure);
      if (drill) {
        tr.tabIndex = 0;
        tr.title = '点击下钻';
        const go = () => drillInto(row);
        tr.addEventListener('click', go);
        tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') go(); });
      }
      body.appendChild(tr);
    });
    if (!rows.length) body.appendChild(emptyRow(METRIC_COLS.length + 1, '该范围本期没有数据'));
    if (t.total) {
      const tr = el('tr', { cls: 'metrics-total' });
      metricCells(tr, t.total, t.measure);
      foot.appendChild(tr);
    }
    const cap = $('metrics-caption');
    const unit = t.unit ? '单位：' + t.unit : (t.measure === 'quantity' ? '单位：条' : '币种混合');
    const months = t.months && t.months.length ? t.months.join(' ~ ') : '';
    cap.textContent = ['期间 ' + (t.period || ''), months && months !== t.period + ' ~ ' + t.period ? '(' + months + ')' : '',
      unit, t.fx_converted ? '已按汇率折算美元' : '', '对比期 ' + (t.compare_period || '—'),
      t.latest_month ? '最新数据月 ' + t.latest_month : ''].filter(Boolean).join(' · ');
  }

  function drillInto(row) {
    const dims = (row.scope && row.scope.dims) || [];
    const have = new Set(mstate.drill.map((d) => d.dim));
    dims.forEach((d) => {
      if (!have.has(d.dim) && DRILL_ORDER.indexOf(d.dim) !== -1) mstate.drill.push({ dim: d.dim, code: d.code, name: d.name_zh || d.code });
    });
    loadMetrics();
  }

  // ------------------------------------------------------------- charts ---
  const C = { blue: '#1f5a96', green: '#2e7d4f', orange: '#d9822b', gray: '#8a96a6', red: '#c0392b', grid: '#e2e6ed', text: '#6b7686' };
  const MIX_COLORS = ['#1f5a96', '#d9822b', '#2e7d4f', '#8e44ad', '#c0392b', '#16a2b8', '#b8860b', '#5d6d7e', '#e67e22', '#7f8c8d'];

  function chartNote(id, text) {
    const svgNode = $(id);
    if (text && !svgNode.firstChild) svgNode.classList.add('is-empty'); else if (!text) svgNode.classList.remove('is-empty');
    const note = svgNode.parentNode.querySelector('.chart-note');
    note.textContent = text || '';
    note.hidden = !text;
  }

  /** A round tick step of about v (1, 2, 2.5 or 5 × 10^k). */
  function niceStep(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const n = v / p;
    const m = n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10;
    return m * p;
  }

  function drawAchievement(t) {
    const s = clear($('chart-achievement'));
    const rows = (t.rows || []).filter((r) => r.achievement != null);
    const W = 640;
    const H = 280;
    const L = 48;
    const R = 12;
    const T = 14;
    const B = 70;
    s.classList.toggle('is-empty', !rows.length);
    if (!rows.length) {
      chartNote('chart-achievement', '本范围没有可计算的达成率（无目标或目标为 0），例如客户层级没有目标。');
      return;
    }
    chartNote('chart-achievement', '');
    const vals = rows.map((r) => Number(r.achievement));
    const yMax = Math.max(1.2, Math.ceil(Math.max.apply(null, vals) * 10 + 0.5) / 10);
    const yMin = Math.min(0, Math.floor(Math.min.apply(null, vals) * 10) / 10);
    const y = (v) => T + (H - T - B) * (1 - (v - yMin) / (yMax - yMin));
    for (let g = 0; g <= yMax + 1e-9; g += yMax > 2 ? 0.5 : 0.25) {
      s.appendChild(svg('line', { x1: L, x2: W - R, y1: y(g), y2: y(g), stroke: C.grid, 'stroke-width': 1 }));
      s.appendChild(svg('text', { x: L - 6, y: y(g) + 4, 'text-anchor': 'end', 'font-size': 11, fill: C.text }, Math.round(g * 100) + '%'));
    }
    const n = rows.length;
    const slot = (W - L - R) / n;
    const bw = Math.max(4, Math.min(48, slot * 0.66));
    rows.forEach((r, i) => {
      const v = Number(r.achievement);
      const x = L + slot * i + (slot - bw) / 2;
      const top = y(Math.max(v, 0));
      const h = Math.max(1, Math.abs(y(v) - y(0)));
      const label = rowLabel(r);
      const rect = svg('rect', {
        class: 'bar', x: x.toFixed(1), y: (v >= 0 ? top : y(0)).toFixed(1), width: bw.toFixed(1), height: h.toFixed(1), rx: 2,
        fill: v >= 1 ? C.green : C.blue, 'data-label': label, 'data-value': r.achievement,
      });
      rect.appendChild(svg('title', null, label + '：' + fmtPct(r.achievement)));
      s.appendChild(rect);
      if (n <= 16) {
        s.appendChild(svg('text', { x: (x + bw / 2).toFixed(1), y: (top - 4).toFixed(1), 'text-anchor': 'middle', 'font-size': 10, fill: C.text },
          roundDec(r.achievement, 2, 0) + '%'));
      }
      const short = label.length > 10 ? label.slice(0, 9) + '…' : label;
      const lx = L + slot * i + slot / 2;
      const ly = H - B + 14;
      s.appendChild(svg('text', n > 8
        ? { x: lx.toFixed(1), y: ly, 'text-anchor': 'end', 'font-size': 11, fill: C.text, transform: 'rotate(-40 ' + lx.toFixed(1) + ' ' + ly + ')' }
        : { x: lx.toFixed(1), y: ly, 'text-anchor': 'middle', 'font-size': 11, fill: C.text }, short));
    });
    s.appendChild(svg('line', {
      class: 'ref-line', x1: L, x2: W - R, y1: y(1), y2: y(1), stroke: C.red, 'stroke-width': 1.5, 'stroke-dasharray': '6 4', 'data-value': '1',
    }));
    s.appendChild(svg('text', { x: W - R, y: y(1) - 5, 'text-anchor': 'end', 'font-size': 11, fill: C.red }, '100%'));
  }

  async function loadTrend(seq) {
    const id = 'chart-trend';
    const p = [['month', mstate.month], ['months', 24], ['measure', mstate.measure]];
    mstate.drill.forEach((d) => p.push(['filter', d.dim + '=' + d.code]));
    try {
      const t = await api('GET', '/api/metrics/trend' + qs(p));
      if (seq !== mstate.seq || !$(id)) return;
      drawTrend(t);
    } catch (e) {
      if (seq !== mstate.seq || !$(id)) return;
      clear($(id));
      chartNote(id, '趋势加载失败：' + e.message);
    }
  }

  const SERIES = [
    { key: 'actual', zh: '实际', color: C.blue, dash: null },
    { key: 'target', zh: '目标', color: C.gray, dash: '5 4' },
    { key: 'last_year', zh: '去年同期', color: C.orange, dash: null },
  ];

  function drawTrend(t) {
    const s = clear($('chart-trend'));
    const months = asList(t, 'months');
    const any = months.some((m) => SERIES.some((se) => m[se.key] != null));
    if (!months.length || !any) { chartNote('chart-trend', '没有趋势数据。'); return; }
    chartNote('chart-trend', '');
    const W = 640;
    const H = 280;
    const L = 56;
    const R = 22;
    const T = 28;
    const B = 40;
    let max = 0;
    months.forEach((m) => SERIES.forEach((se) => { if (m[se.key] != null) max = Math.max(max, Number(m[se.key])); }));
    const stepY = niceStep((max || 1) / 4);
    const ticks = Math.max(1, Math.ceil((max * 1.02) / stepY));
    const yMax = stepY * ticks;
    const y = (v) => T + (H - T - B) * (1 - v / yMax);
    const step = months.length > 1 ? (W - L - R) / (months.length - 1) : 0;
    const x = (i) => L + step * i;
    for (let k = 0; k <= ticks; k++) {
      const g = stepY * k;
      s.appendChild(svg('line', { x1: L, x2: W - R, y1: y(g), y2: y(g), stroke: C.grid, 'stroke-width': 1 }));
      s.appendChild(svg('text', { x: L - 6, y: y(g) + 4, 'text-anchor': 'end', 'font-size': 11, fill: C.text }, fmtShort(g)));
    }
    months.forEach((m, i) => {
      if (i % 3 === (months.length - 1) % 3) {
        s.appendChild(svg('text', { x: x(i), y: H - B + 16, 'text-anchor': 'middle', 'font-size': 10.5, fill: C.text }, String(m.month).slice(2)));
      }
    });
    SERIES.forEach((se) => {
      let seg = [];
      const flush = () => {
        if (seg.length > 1) {
          s.appendChild(svg('polyline', {
            class: 'line line-' + se.key, points: seg.join(' '), fill: 'none', stroke: se.color, 'stroke-width': 2, 'stroke-dasharray': se.dash,
          }));
        }
        seg = [];
      };
      months.forEach((m, i) => {
        const v = m[se.key];
        if (v == null) { flush(); return; }
        seg.push(x(i).toFixed(1) + ',' + y(Number(v)).toFixed(1));
      });
      flush();
      months.forEach((m, i) => {
        const v = m[se.key];
        if (v == null) return;
        const c = svg('circle', {
          class: 'pt', cx: x(i).toFixed(1), cy: y(Number(v)).toFixed(1), r: 2.8, fill: se.color,
          'data-series': se.key, 'data-month': m.month, 'data-value': v,
        });
        c.appendChild(svg('title', null, m.month + ' ' + se.zh + '：' + fmtAmount(v, mstate.measure === 'quantity' ? 0 : 2)));
        s.appendChild(c);
      });
    });
    let lx = L;
    SERIES.forEach((se) => {
      s.appendChild(svg('line', { x1: lx, x2: lx + 18, y1: 12, y2: 12, stroke: se.color, 'stroke-width': 2.5, 'stroke-dasharray': se.dash }));
      s.appendChild(svg('text', { x: lx + 22, y: 16, 'font-size': 11.5, fill: C.text }, se.zh));
      lx += 90;
    });
    s.appendChild(svg('text', { x: W - R, y: 16, 'text-anchor': 'end', 'font-size': 11, fill: C.text }, '单位：' + (t.unit || (t.measure === 'quantity' ? '条' : '—'))));
  }

  async function loadMix(seq) {
    const id = 'chart-mix';
    const p = [['month', mstate.month], ['by', 'category'], ['measure', mstate.measure]];
    mstate.drill.filter((d) => d.dim === 'country').forEach((d) => p.push(['filter', d.dim + '=' + d.code]));
    try {
      const t = await api('GET', '/api/metrics' + qs(p));
      if (seq !== mstate.seq || !$(id)) return;
      drawMix(t);
    } catch (e) {
      if (seq !== mstate.seq || !$(id)) return;
      clear($(id));
      chartNote(id, '品类结构加载失败：' + e.message);
    }
  }

  function drawMix(t) {
    const s = clear($('chart-mix'));
    const rows = (t.rows || []).filter((r) => r.actual != null && Number(r.actual) > 0);
    const total = rows.reduce((a, r) => a + Number(r.actual), 0);
    if (!rows.length || !(total > 0)) { chartNote('chart-mix', '本期没有品类数据。'); return; }
    chartNote('chart-mix', '');
    const L = 10;
    const W = 980;
    let x = L;
    rows.forEach((r, i) => {
      const share = Number(r.actual) / total;
      const w = W * share;
      const label = rowLabel(r);
      const color = MIX_COLORS[i % MIX_COLORS.length];
      const rect = svg('rect', { class: 'mix-seg', x: x.toFixed(1), y: 10, width: Math.max(0.5, w).toFixed(1), height: 40, fill: color, 'data-label': label, 'data-value': r.actual });
      rect.appendChild(svg('title', null, label + '：' + fmtAmount(r.actual, t.measure === 'quantity' ? 0 : 2) + '（' + (share * 100).toFixed(1) + '%）'));
      s.appendChild(rect);
      if (w > 60) s.appendChild(svg('text', { x: (x + w / 2).toFixed(1), y: 35, 'text-anchor': 'middle', 'font-size': 12.5, fill: '#fff' }, (share * 100).toFixed(1) + '%'));
      x += w;
    });
    const scope = (t.filters || []).map((f) => f.name_zh || f.value).join(' / ') || '全部';
    const foot = '范围：' + scope + ' · 单位：' + (t.unit || '—');
    let lx = L;
    let ly = 72;
    rows.forEach((r, i) => {
      const text = rowLabel(r) + ' ' + fmtShort(Number(r.actual)) + ' · ' + (Number(r.actual) / total * 100).toFixed(1) + '%';
      const width = 30 + text.length * 8.5;
      if (lx + width > W - foot.length * 11) { lx = L; ly += 24; }
      s.appendChild(svg('rect', { x: lx, y: ly - 10, width: 12, height: 12, rx: 2, fill: MIX_COLORS[i % MIX_COLORS.length] }));
      s.appendChild(svg('text', { x: lx + 17, y: ly, 'font-size': 12, fill: '#3d4857' }, text));
      lx += width;
    });
    s.appendChild(svg('text', { x: W + L, y: 72, 'text-anchor': 'end', 'font-size': 11.5, fill: C.text }, foot));
    s.setAttribute('viewBox', '0 0 1000 ' + (ly + 12));
  }

  // ============================================================ 预警 ======
  const NO_AMOUNT = '（无权限查看金额）';
  const BUCKET_ORDER = ['1-30', '31-60', '61-90', '91-180', '>180'];

  /** An amount of an alert; null because of field sensitivity → the no-permission note. */
  function alertAmount(v, currency) {
    if (v == null) return el('span', { cls: 'no-perm', text: NO_AMOUNT });
    return el('span', { cls: 'amount', text: fmtAmount(v) + (currency ? ' ' + currency : '') });
  }

  function td(content, cls, dataField) {
    const c = el('td', { cls, data: dataField ? { field: dataField } : null });
    if (content instanceof Node) c.appendChild(content); else c.textContent = content == null || content === '' ? '—' : String(content);
    return c;
  }

  function ownerOf(a) {
    if (a.owner) return typeof a.owner === 'string' ? a.owner : (a.owner.name || a.owner.id || '—');
    if (a.customer && (a.customer.owner_name || a.customer.owner)) return a.customer.owner_name || a.customer.owner;
    return '—';
  }

  function ruleCell(a) {
    const r = a.rule || {};
    return td(el('span', { cls: 'rule', text: r.id || '—', title: r.description_zh || '' }));
  }

  function alertTable(cols, rows, rowFn, kind) {
    const t = el('table', { cls: 'data-table alert-table', data: { kind } }, [
      el('thead', null, [el('tr', null, cols.map((c) => el('th', { text: c[0], cls: c[1] || '' })))]),
    ]);
    const body = el('tbody');
    rows.forEach((a) => {
      const tr = el('tr', { cls: 'alert-row', data: { kind, customer: a.customer && a.customer.id } });
      rowFn(a).forEach((c) => tr.appendChild(c));
      body.appendChild(tr);
    });
    if (!rows.length) body.appendChild(emptyRow(cols.length, '无预警'));
    t.appendChild(body);
    return el('div', { cls: 'table-wrap' }, [t]);
  }

  VIEWS.alerts = function (root) {
    const asOf = el('input', { type: 'date', value: today(), attrs: { id: 'alerts-as-of' } });
    const form = el('form', { cls: 'toolbar' }, [field('截止日 as of', asOf), el('button', { cls: 'btn btn-primary', type: 'submit', text: '刷新' })]);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); loadAlerts(asOf.value); });
    root.appendChild(pageHead('预警', 'Alerts · 回款逾期、货好待款、信用异常、开发停滞'));
    root.appendChild(section('条件', 'As of', [form, el('p', { cls: 'hint', text: '预警是提醒，不是结论；悬停规则查看口径。' })]));
    root.appendChild(el('div', { attrs: { id: 'alerts-root' }, cls: 'alerts-root' }, [notice('加载中…')]));
    loadAlerts(asOf.value);
  };

  async function loadAlerts(asOf) {
    clearError();
    const box = $('alerts-root');
    box.dataset.loading = '1';
    try {
      const a = await api('GET', '/api/alerts' + qs([['as_of', asOf]]));
      if (!$('alerts-root')) return;
      renderAlerts(a);
    } catch (e) {
      fail(e, '预警');
      clear(box).appendChild(notice('加载失败', 'notice-error'));
    } finally {
      delete box.dataset.loading;
    }
  }

  function renderAlerts(a) {
    const box = clear($('alerts-root'));
    const overdue = a.overdue || [];
    const buckets = a.overdue_buckets || {};

    // groups this user may not see (field sensitivity): said in their section, never shown as "no alerts"
    const GROUPS = ['overdue', 'shipment_at_risk', 'credit_anomaly', 'stalled_development'];
    const withheld = {};
    (a.withheld || []).forEach((w) => { withheld[w.group] = w.reason || '无权限'; });
    const count = (g, list) => (withheld[g] ? '—' : (list || []).length);
    const hidden = (g) => el('p', { cls: 'notice notice-warn withheld', data: { group: g }, text: '（无权限查看）' + withheld[g] });

    // summary tiles
    box.appendChild(el('div', { cls: 'stat-row' }, [
      stat('回款逾期', count('overdue', overdue), 'overdue'),
      stat('货好待款', count('shipment_at_risk', a.shipment_at_risk), 'shipment'),
      stat('信用异常', count('credit_anomaly', a.credit_anomaly), 'credit'),
      stat('开发停滞', count('stalled_development', a.stalled_development), 'stalled'),
    ]));

    (a.withheld || []).filter((w) => GROUPS.indexOf(w.group) === -1)
      .forEach((w) => box.appendChild(notice('未显示「' + w.group + '」：' + w.reason, 'notice-warn withheld')));
    // alerts shown without their amounts / contract numbers (below those fields' sensitivity)
    const maskedLabels = { overdue: '回款逾期金额', shipment_at_risk: '货好待款金额', credit_anomaly: '信用与回款金额', contract_no: '合同号' };
    (a.masked || []).forEach((w) => box.appendChild(
      notice('已隐藏' + (maskedLabels[w.group] || w.group) + '：' + w.reason, 'notice-warn masked')));

    // overdue receivables, per bucket
    const bucketTiles = el('div', { cls: 'bucket-row' }, BUCKET_ORDER.map((k) => {
      const b = buckets[k] || { count: 0 };
      const cur = b.by_currency ? Object.keys(b.by_currency).map((c) => fmtAmount(b.by_currency[c]) + ' ' + c).join('；') : '';
      return el('div', { cls: 'bucket', data: { bucket: k }, title: [cur, b.reason].filter(Boolean).join('\n') }, [
        el('div', { cls: 'bucket-label', text: k + ' 天' }),
        el('div', { cls: 'bucket-count', text: (b.count || 0) + ' 笔' }),
        el('div', { cls: 'bucket-amount' }, [b.amount_usd != null ? el('span', { text: '≈ ' + fmtAmount(b.amount_usd) + ' USD' })
          : (b.count ? el('span', { cls: 'no-perm', text: b.by_currency ? (cur || '—') : NO_AMOUNT }) : el('span', { text: '—' }))]),
      ]);
    }));
    const ovCols = [['客户'], ['国家'], ['合同号'], ['付款节点'], ['逾期金额', 'num'], ['应回款', 'num'], ['约定回款日'], ['逾期天数', 'num'], ['负责人'], ['规则']];
    const ovRow = (x) => [
      td(custName(x.customer)), td(x.country), td(x.contract_no, 'mono'), td(x.payment_node),
      td(alertAmount(x.overdue_amount, x.currency), 'num', 'overdue_amount'), td(alertAmount(x.due_amount, x.currency), 'num', 'due_amount'),
      td(x.due_date), td(x.days_overdue, 'num', 'days'), td(ownerOf(x)), ruleCell(x),
    ];
    const perBucket = BUCKET_ORDER.map((k) => {
      const rows = overdue.filter((x) => x.bucket === k);
      if (!rows.length) return null;
      return el('div', { cls: 'bucket-group', data: { bucket: k } }, [el('h3', { cls: 'sub-title', text: '逾期 ' + k + ' 天（' + rows.length + '）' }), alertTable(ovCols, rows, ovRow, 'overdue')]);
    });
    const others = overdue.filter((x) => BUCKET_ORDER.indexOf(x.bucket) === -1);
    if (others.length) perBucket.push(alertTable(ovCols, others, ovRow, 'overdue'));
    box.appendChild(section('回款逾期', 'Overdue receivables by bucket', withheld.overdue ? [hidden('overdue')] : [bucketTiles].concat(
      overdue.length ? perBucket : [notice('没有逾期款项。')]), { id: 'alerts-overdue' }));

    box.appendChild(section('货好待款', 'Goods ready, payment missing', [withheld.shipment_at_risk ? hidden('shipment_at_risk') : alertTable(
      [['客户'], ['国家'], ['合同号'], ['付款节点'], ['缺款', 'num'], ['货好日期'], ['距货好天数', 'num'], ['发运状态'], ['负责人'], ['规则']],
      a.shipment_at_risk || [],
      (x) => [td(custName(x.customer)), td(x.country), td(x.contract_no, 'mono'), td(x.payment_node),
        td(alertAmount(x.missing_amount, x.currency), 'num', 'missing_amount'), td(x.goods_ready_date),
        td(x.days_to_goods_ready == null ? '—' : (x.days_to_goods_ready < 0 ? '已过 ' + (-x.days_to_goods_ready) + ' 天' : '还有 ' + x.days_to_goods_ready + ' 天'), 'num', 'days'),
        td(x.shipping_status), td(ownerOf(x)), ruleCell(x)],
      'shipment_at_risk')], { id: 'alerts-shipment' }));

    box.appendChild(section('信用异常', 'Credit anomalies', [withheld.credit_anomaly ? hidden('credit_anomaly') : alertTable(
      [['客户'], ['未回款余额', 'num'], ['信用额度', 'num'], ['合同号'], ['逾期金额', 'num'], ['逾期天数', 'num'], ['负责人'], ['规则'], ['说明']],
      a.credit_anomaly || [],
      (x) => [td(custName(x.customer)), td(alertAmount(x.outstanding, x.currency), 'num', 'outstanding'),
        td(x.credit_limit == null && x.credit_currency == null ? '—' : alertAmount(x.credit_limit, x.credit_currency), 'num', 'credit_limit'),
        td(x.contract_no, 'mono'),
        td(x.overdue_amount == null && x.days_overdue == null ? '—' : alertAmount(x.overdue_amount, x.currency), 'num', 'overdue_amount'),
        td(x.days_overdue, 'num', 'days'), td(ownerOf(x)), ruleCell(x), td(x.note)],
      'credit_anomaly')], { id: 'alerts-credit' }));

    const KIND_ZH = { sales: '销售', payment: '回款', ledger: '督办事项', knowledge: '客户资料' };
    box.appendChild(section('开发停滞', 'Stalled development', [withheld.stalled_development ? hidden('stalled_development') : alertTable(
      [['客户'], ['状态'], ['最近活动'], ['活动类型'], ['停滞天数', 'num'], ['负责人'], ['规则']],
      a.stalled_development || [],
      (x) => [td(custName(x.customer)), td(x.status), td(x.last_activity || '从无活动'),
        td(x.last_activity_kind ? KIND_ZH[x.last_activity_kind] || x.last_activity_kind : '—'),
        td(x.days_since_activity, 'num', 'days'), td(ownerOf(x)), ruleCell(x)],
      'stalled_development')], { id: 'alerts-stalled' }));

    if ((a.notes || []).length) {
      box.appendChild(section('说明', 'Notes', [el('ul', { cls: 'plain-list' }, a.notes.map((n) => el('li', { text: n })))]));
    }
    box.appendChild(el('p', { cls: 'hint', text: '截止日 ' + (a.as_of || '—') }));
  }

  function stat(label, value, key, sub) {
    return el('div', { cls: 'stat', data: { stat: key, count: value } }, [
      el('div', { cls: 'stat-value', text: value == null ? '—' : value }),
      el('div', { cls: 'stat-label', text: label }),
      sub ? el('div', { cls: 'stat-sub', text: sub }) : null,
    ]);
  }

  // ======================================================== 督办台账 ======
  const lstate = { tags: [], statuses: ['待办', '进行中', '已完成', '延期', '取消'], meetings: [], items: [], current: null, seq: 0 };

  const tagName = (t) => (typeof t === 'string' ? t : (t && (t.name || t.label || t.code)) || '');
  const tagValue = (t) => (typeof t === 'string' ? t : (t && (t.name || t.code)) || '');

  async function loadTags() {
    if (lstate.tagsLoaded) return;
    try {
      const t = await api('GET', '/api/ledger/tags');
      lstate.tags = asList(t, 'tags');
      if (asList(t, 'statuses').length) lstate.statuses = asList(t, 'statuses').map(tagName);
      lstate.tagsLoaded = true;
    } catch (e) { fail(e, '事项类型'); }
  }

  VIEWS.ledger = function (root) {
    const params = new URLSearchParams(location.search);
    const owner = el('input', { type: 'text', attrs: { id: 'f-owner', list: 'f-owner-list', placeholder: '姓名或工号' } });
    const type = el('select', { attrs: { id: 'f-type' } }, [option('', '全部类型')]);
    const status = el('select', { attrs: { id: 'f-status' } }, [option('', '全部状态')]);
    const country = el('input', { type: 'text', attrs: { id: 'f-country', list: 'f-country-list', placeholder: '代码或名称' } });
    const meeting = el('select', { attrs: { id: 'f-meeting' } }, [option('', '全部会议')]);
    const overdue = el('input', { type: 'checkbox', attrs: { id: 'f-overdue' } });
    const filters = el('form', { cls: 'toolbar', attrs: { id: 'ledger-filters' } }, [
      field('负责人', owner), field('类型', type), field('状态', status), field('国家', country), field('会议', meeting),
      el('label', { cls: 'check' }, [overdue, el('span', { text: '仅逾期' })]),
      el('datalist', { attrs: { id: 'f-owner-list' } }), el('datalist', { attrs: { id: 'f-country-list' } }),
      el('div', { cls: 'toolbar-spacer' }),
      el('a', { cls: 'btn btn-ghost', text: '导出台账 Excel', attrs: { id: 'ledger-export', href: '/api/ledger/export', download: '' } }),
    ]);
    filters.addEventListener('submit', (ev) => { ev.preventDefault(); loadLedger(); });
    [type, status, meeting, overdue, owner, country].forEach((c) => c.addEventListener('change', () => {
      loadLedger();
      if (c === meeting) { loadReview(); loadUpdates(); }
    }));

    const table = el('table', { cls: 'data-table ledger-table', attrs: { id: 'ledger-table' } }, [
      el('thead', null, [el('tr', null, [['编号', 'num'], ['事项'], ['类型'], ['国家'], ['客户'], ['负责人'], ['截止'], ['状态'], ['最新进展'], ['会议日期']]
        .map((c) => el('th', { text: c[0], cls: c[1] || '' })))]),
      el('tbody'),
    ]);

    root.appendChild(pageHead('督办台账', 'Action ledger · 会议事项的负责人、截止与进展'));
    root.appendChild(section('会前回顾', 'Pre-meeting review', [el('div', { attrs: { id: 'ledger-review' }, cls: 'review-box' }, [notice('加载中…')])]));
    root.appendChild(section('事项', 'Items', [filters, el('p', { cls: 'table-caption', attrs: { id: 'ledger-count' } }), el('div', { cls: 'table-wrap' }, [table])]));
    root.appendChild(section('待确认的状态更新', 'Proposed status updates from minutes', [el('div', { attrs: { id: 'ledger-updates' } })]));
    root.appendChild(ledgerPanel());

    (async () => {
      await loadTags();
      lstate.tags.forEach((t) => type.appendChild(option(tagValue(t), tagName(t))));
      lstate.statuses.forEach((s) => status.appendChild(option(s, s)));
      try {
        lstate.meetings = asList(await api('GET', '/api/ledger/meetings'), 'meetings');
      } catch (e) { fail(e, '会议列表'); }
      lstate.meetings.forEach((m) => meeting.appendChild(option(String(m.id), (m.date || '') + ' ' + (m.meeting || '') + ' #' + m.id)));
      if (params.get('meeting')) meeting.value = params.get('meeting');
      if (params.get('status')) status.value = params.get('status');
      if (params.get('overdue') === '1') overdue.checked = true;
      await loadLedger(true);
      loadReview();
      loadUpdates();
    })();
  };

  function ledgerQuery() {
    return [['owner', $('f-owner').value.trim()], ['type', $('f-type').value], ['status', $('f-status').value],
      ['country', $('f-country').value.trim()], ['meeting', $('f-meeting').value], ['overdue', $('f-overdue').checked ? '1' : '']];
  }

  async function loadLedger(first) {
    clearError();
    const seq = ++lstate.seq;
    const table = $('ledger-table');
    table.dataset.loading = '1';
    try {
      const items = asList(await api('GET', '/api/ledger' + qs(ledgerQuery())), 'items');
      const exp = $('ledger-export');
      if (exp) exp.setAttribute('href', '/api/ledger/export' + qs(ledgerQuery()));
      if (seq !== lstate.seq || !$('ledger-table')) return;
      lstate.items = items;
      if (first) fillDatalists(items);
      renderLedgerRows(items);
    } catch (e) {
      if (seq !== lstate.seq) return;
      fail(e, '督办台账');
      clear(table.tBodies[0]).appendChild(emptyRow(10, '加载失败'));
    } finally {
      if (seq === lstate.seq && $('ledger-table')) delete $('ledger-table').dataset.loading;
    }
  }

  function fillDatalists(items) {
    const owners = new Set();
    const countries = new Set();
    items.forEach((i) => { (i.owners || []).forEach((o) => owners.add(o)); if (i.country) countries.add(i.country); });
    const ol = clear($('f-owner-list'));
    Array.from(owners).sort().forEach((o) => ol.appendChild(option(o)));
    const cl = clear($('f-country-list'));
    Array.from(countries).sort().forEach((c) => cl.appendChild(option(c)));
  }

  function statusSelect(item) {
    const sel = el('select', { cls: 'status-select status-' + statusKey(item.status), attrs: { 'aria-label': '状态' }, data: { id: item.id } });
    if (!canWrite()) { sel.disabled = true; sel.title = '只读账号不能修改状态'; }
    const list = lstate.statuses.indexOf(item.status) === -1 ? lstate.statuses.concat([item.status]) : lstate.statuses;
    list.forEach((s) => sel.appendChild(option(s, s, s === item.status)));
    sel.addEventListener('click', (ev) => ev.stopPropagation());
    sel.addEventListener('keydown', (ev) => ev.stopPropagation());
    sel.addEventListener('change', async () => {
      const prev = item.status;
      sel.disabled = true;
      try {
        const changed = await api('POST', '/api/ledger/' + encodeURIComponent(item.id), { status: sel.value });
        const it = changed && changed.id != null ? changed : Object.assign({}, item, { status: sel.value });
        replaceItem(it);
        toast('已更新为「' + it.status + '」');
        if (lstate.current === it.id) openItem(it.id);
        loadReview();
      } catch (e) {
        sel.value = prev;
        fail(e, '更新状态');
      } finally {
        sel.disabled = false;
      }
    });
    return sel;
  }

  function statusKey(s) {
    return { 待办: 'todo', 进行中: 'doing', 已完成: 'done', 延期: 'delayed', 取消: 'cancelled' }[s] || 'other';
  }

  function ledgerRow(it) {
    const tr = el('tr', { cls: 'ledger-row' + (it.overdue ? ' is-overdue' : '') + (lstate.current === it.id ? ' selected' : ''), data: { id: it.id, status: it.status } });
    tr.tabIndex = 0;
    const deadline = it.deadline || (it.next_meeting_checkpoint ? '下次会议前' : it.deadline_text || '—');
    [
      td(it.id, 'num mono'),
      td(el('span', { cls: 'desc', text: it.description, title: it.source || '' }), 'desc-cell'),
      td(it.type, 'nowrap'), td(it.country, 'nowrap'), td(it.customer, 'nowrap'),
      td((it.owners || []).join('、') || el('span', { cls: 'missing', text: '缺负责人' })),
      td(el('span', { cls: it.overdue ? 'overdue' : '', text: deadline, title: it.deadline_text || '' }), 'nowrap'),
    ].forEach((c) => tr.appendChild(c));
    tr.appendChild(el('td', null, [statusSelect(it)]));
    tr.appendChild(td(it.latest_note, 'note-cell'));
    tr.appendChild(td(el('span', { text: it.meeting_date || '', title: it.meeting || '' }), 'nowrap'));
    const open = () => openItem(it.id);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') open(); });
    return tr;
  }

  function renderLedgerRows(items) {
    const body = clear($('ledger-table').tBodies[0]);
    items.forEach((it) => body.appendChild(ledgerRow(it)));
    if (!items.length) body.appendChild(emptyRow(10, '没有符合条件的事项'));
    const over = items.filter((i) => i.overdue).length;
    $('ledger-count').textContent = '共 ' + items.length + ' 项' + (over ? '，其中逾期 ' + over + ' 项' : '');
  }

  function replaceItem(it) {
    const ix = lstate.items.findIndex((x) => x.id === it.id);
    if (ix !== -1) lstate.items[ix] = it;
    const old = document.querySelector('#ledger-table tr.ledger-row[data-id="' + it.id + '"]');
    if (old) old.replaceWith(ledgerRow(it));
  }

  // ---- side panel
  function ledgerPanel() {
    const deadline = el('input', { type: 'date', attrs: { id: 'ledger-deadline' } });
    const note = el('textarea', { attrs: { id: 'ledger-note', rows: '3', maxlength: '2000', placeholder: '进展说明（写入变更记录）' } });
    const save = el('button', { cls: 'btn btn-primary', type: 'button', text: '保存', attrs: { id: 'ledger-save' } });
    save.addEventListener('click', saveItem);
    const close = el('button', { cls: 'icon-btn', type: 'button', text: '✕', title: '关闭', attrs: { 'aria-label': 'close', id: 'ledger-panel-close' } });
    close.addEventListener('click', closePanel);
    return el('aside', { cls: 'side-panel', attrs: { id: 'ledger-panel', role: 'dialog', 'aria-label': '事项详情' }, hidden: true }, [
      el('div', { cls: 'side-head' }, [el('span', { cls: 'side-kicker', text: '事项详情' }), close]),
      el('h3', { cls: 'side-title', attrs: { id: 'ledger-panel-title' } }),
      el('dl', { cls: 'kv', attrs: { id: 'ledger-detail' } }),
      el('div', { cls: 'side-edit' }, [
        el('h4', { cls: 'sub-title', text: '更新' }),
        field('截止日期', deadline), field('进展备注', note), save,
      ]),
      el('h4', { cls: 'sub-title', text: '变更记录' }),
      el('ol', { cls: 'history', attrs: { id: 'ledger-history' } }),
    ]);
  }

  function closePanel() {
    const p = $('ledger-panel');
    if (p) p.hidden = true;
    document.body.classList.remove('panel-open');
    lstate.current = null;
    document.querySelectorAll('#ledger-table tr.selected').forEach((r) => r.classList.remove('selected'));
  }

  async function openItem(id) {
    lstate.current = id;
    document.querySelectorAll('#ledger-table tr.ledger-row').forEach((r) => r.classList.toggle('selected', String(r.dataset.id) === String(id)));
    const panel = $('ledger-panel');
    panel.hidden = false;
    document.body.classList.add('panel-open');
    panel.dataset.id = id;
    clear($('ledger-history')).appendChild(el('li', { cls: 'muted', text: '加载中…' }));
    try {
      const d = await api('GET', '/api/ledger/' + encodeURIComponent(id));
      if (lstate.current !== id) return;
      renderPanel(d.item || d, asList(d.history, 'history'));
    } catch (e) {
      fail(e, '事项详情');
      clear($('ledger-history'));
    }
  }

  function renderPanel(it, history) {
    $('ledger-panel-title').textContent = it.description || '';
    const dl = clear($('ledger-detail'));
    const kv = (k, v) => { dl.appendChild(el('dt', { text: k })); dl.appendChild(el('dd', { text: v == null || v === '' ? '—' : v })); };
    kv('编号', '#' + it.id);
    kv('类型', it.type);
    kv('状态', it.status + (it.overdue ? '（逾期）' : ''));
    kv('负责人', (it.owners || []).join('、'));
    kv('截止', (it.deadline || (it.next_meeting_checkpoint ? '下次会议前' : '')) + (it.deadline_text ? '（原文：' + it.deadline_text + '）' : ''));
    kv('国家', it.country);
    kv('客户', it.customer);
    kv('会议', (it.meeting_date || '') + ' ' + (it.meeting || ''));
    kv('最新进展', it.latest_note);
    kv('原文', it.source);
    kv('缺失', (it.missing || []).map((m) => ({ owner: '负责人', deadline: '截止日期' }[m] || m)).join('、'));
    kv('置信度', it.confidence != null ? Number(it.confidence).toFixed(2) : '');
    kv('再次提及', it.mentions != null ? it.mentions + ' 次' : '');
    kv('更新时间', fmtDate(it.updated_at));
    $('ledger-deadline').value = it.deadline || '';
    $('ledger-deadline').dataset.original = it.deadline || '';
    $('ledger-note').value = '';
    const ro = !canWrite();
    ['ledger-deadline', 'ledger-note', 'ledger-save'].forEach((id) => { $(id).disabled = ro; });
    $('ledger-save').title = ro ? '只读账号不能修改' : '';
    const ol = clear($('ledger-history'));
    history.forEach((h) => {
      const change = (h.from_status || h.to_status) && h.from_status !== h.to_status ? (h.from_status || '—') + ' → ' + (h.to_status || '—') : '';
      ol.appendChild(el('li', { cls: 'history-entry' }, [
        el('div', { cls: 'history-meta', text: fmtDate(h.at) + ' · ' + (h.who || '') }),
        change ? el('div', { cls: 'history-change', text: '状态 ' + change }) : null,
        h.new_deadline ? el('div', { cls: 'history-change', text: '截止日期 → ' + h.new_deadline }) : null,
        h.note ? el('div', { cls: 'history-note', text: h.note }) : null,
      ]));
    });
    if (!history.length) ol.appendChild(el('li', { cls: 'muted', text: '暂无变更记录' }));
  }

  async function saveItem() {
    const id = lstate.current;
    if (id == null) return;
    const body = {};
    const dl = $('ledger-deadline');
    if (dl.value && dl.value !== dl.dataset.original) body.deadline = dl.value;
    const note = $('ledger-note').value.trim();
    if (note) body.note = note;
    if (!Object.keys(body).length) { toast('没有要保存的修改'); return; }
    const btn = $('ledger-save');
    btn.disabled = true;
    try {
      const it = await api('POST', '/api/ledger/' + encodeURIComponent(id), body);
      if (it && it.id != null) replaceItem(it);
      toast('已保存');
      await openItem(id);
      loadReview();
    } catch (e) {
      fail(e, '保存');
    } finally {
      btn.disabled = false;
    }
  }

  // ---- review and proposed updates
  async function loadReview() {
    const box = $('ledger-review');
    if (!box) return;
    try {
      const r = await api('GET', '/api/ledger/review' + qs([['meeting', $('f-meeting') ? $('f-meeting').value : '']]));
      if (!$('ledger-review')) return;
      clear(box);
      const n = (k) => (Array.isArray(r[k]) ? r[k].length : (r[k] || 0));
      const meetings = asList(r.meetings, 'meetings').map((m) => (m.date || '') + ' ' + (m.meeting || '')).join('、');
      box.appendChild(el('div', { cls: 'stat-row' }, [
        stat('已完成', n('done'), 'done'), stat('逾期', n('overdue'), 'overdue'), stat('延期', n('delayed'), 'delayed'),
        stat('未完成', n('open'), 'open'), stat('取消', n('cancelled'), 'cancelled'),
        stat('结构化率', r.structured_rate == null ? '—' : fmtPct(r.structured_rate), 'structured_rate', (r.structured || 0) + ' / ' + (r.total || 0) + ' 项含负责人、截止与类型'),
        stat('可追踪率', r.trackable_rate == null ? '—' : fmtPct(r.trackable_rate), 'trackable_rate', (r.trackable || 0) + ' / ' + (r.unfinished || 0) + ' 项未完成事项可追踪'),
      ]));
      box.appendChild(el('p', { cls: 'hint', text: '范围：' + (meetings || '—') + ' · 截止 ' + (r.as_of || '') + ' · 共 ' + (r.total || 0) + ' 项' +
        (n('missing_owner_or_deadline') ? ' · 缺负责人或截止 ' + n('missing_owner_or_deadline') + ' 项' : '') }));
    } catch (e) {
      clear(box).appendChild(notice('回顾加载失败：' + e.message, 'notice-error'));
      fail(e, '会前回顾');
    }
  }

  async function loadUpdates() {
    const box = $('ledger-updates');
    if (!box) return;
    const sel = $('f-meeting').value;
    const meetings = sel ? lstate.meetings.filter((m) => String(m.id) === sel) : lstate.meetings.slice(0, 6);
    clear(box);
    if (!meetings.length) { box.appendChild(notice('暂无会议。')); return; }
    let shown = 0;
    for (const m of meetings) {
      let list;
      try {
        list = asList(await api('GET', '/api/ledger/meetings/' + encodeURIComponent(m.id) + '/updates'), 'updates');
      } catch (e) { fail(e, '状态更新'); return; }
      if (!$('ledger-updates')) return;
      if (!list.length) continue;
      shown += list.length;
      const rows = list.map((x) => {
        const u = x.update || x;
        const applied = !!x.applied;
        const btn = el('button', { cls: 'btn btn-primary btn-sm update-apply', type: 'button', text: applied ? '已应用' : '应用', data: { updateId: u.update_id } });
        btn.disabled = applied;
        btn.addEventListener('click', () => applyUpdate(u.update_id, btn));
        return el('tr', { cls: 'update-row' + (applied ? ' applied' : ''), data: { updateId: u.update_id, itemId: u.item_id } }, [
          td('#' + u.item_id, 'mono'), td(u.description), td((u.from_status || '—') + ' → ' + (u.to_status || '—')),
          td(u.new_deadline), td(el('span', { cls: 'evidence', text: u.evidence || '—' })), el('td', null, [btn]),
        ]);
      });
      box.appendChild(el('h3', { cls: 'sub-title', text: (m.date || '') + ' ' + (m.meeting || '') + ' #' + m.id }));
      box.appendChild(el('div', { cls: 'table-wrap' }, [el('table', { cls: 'data-table' }, [
        el('thead', null, [el('tr', null, ['事项', '内容', '状态变化', '新截止', '依据', ''].map((h) => el('th', { text: h })))]),
        el('tbody', null, rows),
      ])]));
    }
    if (!shown) box.appendChild(notice('没有待确认的状态更新。'));
  }

  async function applyUpdate(id, btn) {
    btn.disabled = true;
    try {
      const it = await api('POST', '/api/ledger/updates/' + encodeURIComponent(id) + '/apply', {});
      toast('已应用');
      btn.textContent = '已应用';
      btn.closest('tr').classList.add('applied');
      if (it && it.id != null) replaceItem(it);
      loadReview();
    } catch (e) {
      btn.disabled = false;
      fail(e, '应用更新');
    }
  }

  // ======================================================== 纪要上传 ======
  const mnstate = { preview: null };

  VIEWS.minutes = function (root) {
    if (!canManage()) {
      root.appendChild(pageHead('纪要上传', 'Minutes → action items'));
      root.appendChild(notice('纪要上传与入账仅限管理员和运营人员使用；督办事项可在「督办台账」中查看。', 'notice-warn'));
      return;
    }
    const file = el('input', { type: 'file', attrs: { id: 'minutes-file', accept: '.md,.txt,.docx,.markdown', required: '' } });
    const date = el('input', { type: 'date', value: today(), attrs: { id: 'minutes-date' } });
    const meeting = el('input', { type: 'text', value: '经营分析会', attrs: { id: 'minutes-meeting' } });
    const model = el('input', { type: 'checkbox', attrs: { id: 'minutes-model' } });
    const submit = el('button', { cls: 'btn btn-primary', type: 'submit', text: '上传并抽取', attrs: { id: 'minutes-submit' } });
    const form = el('form', { cls: 'toolbar', attrs: { id: 'minutes-form' } }, [
      field('纪要文件 (.md / .txt / .docx)', file, 'grow'), field('会议日期', date), field('会议名称', meeting),
      el('label', { cls: 'check', title: '规则抽取后再让本地模型补充；规则优先' }, [model, el('span', { text: '使用模型' })]),
      submit,
    ]);
    form.addEventListener('submit', submitMinutes);
    root.appendChild(pageHead('纪要上传', 'Minutes → action items · 抽取结果须人工确认后才入账'));
    root.appendChild(section('上传纪要', 'Upload', [form]));
    root.appendChild(el('div', { attrs: { id: 'minutes-review' } }));
    root.appendChild(el('div', { attrs: { id: 'minutes-result' } }));
    loadTags();
  };

  async function submitMinutes(ev) {
    ev.preventDefault();
    clearError();
    const f = $('minutes-file').files[0];
    if (!f) { showError('请选择纪要文件'); return; }
    const form = new FormData();
    form.append('file', f, f.name);
    if ($('minutes-date').value) form.append('date', $('minutes-date').value);
    form.append('meeting', $('minutes-meeting').value.trim() || '经营分析会');
    if ($('minutes-model').checked) form.append('model', '1');
    const btn = $('minutes-submit');
    btn.disabled = true;
    btn.textContent = '抽取中…';
    clear($('minutes-result'));
    const review = clear($('minutes-review'));
    review.appendChild(notice('正在抽取行动项…'));
    try {
      await loadTags();
      const p = await upload('/api/minutes', form);
      mnstate.preview = p;
      renderMinutesReview(p);
    } catch (e) {
      clear(review);
      fail(e, '纪要上传');
    } finally {
      btn.disabled = false;
      btn.textContent = '上传并抽取';
    }
  }

  function typeSelect(current) {
    const sel = el('select', { cls: 'item-type' });
    const names = lstate.tags.map(tagValue);
    if (current && names.indexOf(current) === -1) names.unshift(current);
    if (!names.length) names.push('');
    names.forEach((n) => sel.appendChild(option(n, n || '—', n === current)));
    return sel;
  }

  function highlightLine(n) {
    document.querySelectorAll('.minutes-source-line.active').forEach((l) => l.classList.remove('active'));
    const line = document.querySelector('.minutes-source-line[data-line="' + n + '"]');
    if (line) {
      line.classList.add('active');
      const box = line.closest('.minutes-source');
      if (box) box.scrollTop = Math.max(0, line.offsetTop - box.offsetTop - box.clientHeight / 3);
    }
  }

  function itemCard(it, index) {
    const accept = el('input', { type: 'checkbox', cls: 'item-accept', attrs: { 'aria-label': '采纳' } });
    accept.checked = true;
    const desc = el('textarea', { cls: 'item-description', value: it.description || '', attrs: { rows: '2' } });
    const owners = el('input', { type: 'text', cls: 'item-owners', value: (it.owners || []).join(', '), attrs: { placeholder: '多人用逗号分隔' } });
    const deadline = el('input', { type: 'date', cls: 'item-deadline', value: it.deadline || '' });
    const type = typeSelect(it.type);
    const missing = (it.missing || []).map((m) => ({ owner: '缺负责人', deadline: '缺截止日期' }[m] || '缺 ' + m));
    const card = el('div', { cls: 'minutes-item', data: { index, line: it.line } }, [
      el('div', { cls: 'item-head' }, [
        el('label', { cls: 'check' }, [accept, el('span', { text: '采纳' })]),
        el('span', { cls: 'item-line', text: it.line ? '第 ' + it.line + ' 行' : '' }),
        el('span', { cls: 'confidence', text: '置信度 ' + (it.confidence != null ? Number(it.confidence).toFixed(2) : '—') }),
        missing.map((m) => el('span', { cls: 'badge needs-review', text: m }))[0] || null,
        missing[1] ? el('span', { cls: 'badge needs-review', text: missing[1] }) : null,
      ]),
      field('事项', desc, 'wide'),
      el('div', { cls: 'item-grid' }, [field('负责人', owners), field('截止日期', deadline), field('类型', type)]),
      el('div', { cls: 'item-meta', text: ['国家：' + (it.country_name || it.country || '—'), '客户：' + (it.customer_name || it.customer || '—'),
        it.deadline_text ? '截止原文：' + it.deadline_text : '', it.next_meeting_checkpoint ? '下次会议前检查' : ''].filter(Boolean).join(' · ') }),
    ]);
    accept.addEventListener('change', () => card.classList.toggle('rejected', !accept.checked));
    card.addEventListener('click', () => highlightLine(it.line));
    card.addEventListener('focusin', () => highlightLine(it.line));
    return card;
  }

  function renderMinutesReview(p) {
    const box = clear($('minutes-review'));
    const lines = asList(p.lines, 'lines');
    const items = p.items || [];
    const linked = p.linked || [];
    const updates = p.updates || [];
    const st = p.stats || {};
    const src = el('ol', { cls: 'minutes-source' });
    lines.forEach((l, i) => {
      const text = typeof l === 'string' ? l : (l.text != null ? l.text : '');
      const n = typeof l === 'object' && l && l.line ? l.line : i + 1;
      src.appendChild(el('li', { cls: 'minutes-source-line', data: { line: n } }, [el('span', { cls: 'ln', text: n }), el('span', { cls: 'lt', text: text || ' ' })]));
    });
    const cards = el('div', { cls: 'minutes-items' });
    items.forEach((it, i) => cards.appendChild(itemCard(it, i)));
    if (!items.length) cards.appendChild(notice('没有抽取到新的行动项。'));

    const linkedBox = el('div', { cls: 'minutes-linked' }, linked.map((l, i) => {
      const acc = el('input', { type: 'checkbox', cls: 'linked-accept', data: { index: i, linkedTo: l.linked_to } });
      acc.checked = true;
      const row = el('div', { cls: 'linked-row', data: { line: l.item && l.item.line } }, [
        el('label', { cls: 'check' }, [acc, el('span', { text: '记为再次提及' })]),
        el('div', { cls: 'linked-text' }, [
          el('div', { text: (l.item && l.item.description) || '' }),
          el('div', { cls: 'muted', text: '→ 已有事项 #' + l.linked_to + '：' + (l.linked_description || '') + '（相似度 ' + (l.similarity != null ? Number(l.similarity).toFixed(2) : '—') + '）' }),
        ]),
      ]);
      row.addEventListener('click', () => l.item && highlightLine(l.item.line));
      return row;
    }));
    const updBox = el('div', { cls: 'minutes-updates' }, updates.map((u) => {
      const acc = el('input', { type: 'checkbox', cls: 'update-accept', data: { itemId: u.item_id } });
      acc.checked = true;
      return el('div', { cls: 'linked-row' }, [
        el('label', { cls: 'check' }, [acc, el('span', { text: '应用' })]),
        el('div', { cls: 'linked-text' }, [
          el('div', { text: '#' + u.item_id + ' ' + (u.description || '') }),
          el('div', { cls: 'muted', text: (u.from_status || '—') + ' → ' + (u.to_status || '—') + (u.new_deadline ? '，新截止 ' + u.new_deadline : '') + (u.evidence ? ' · 依据：' + u.evidence : '') }),
        ]),
      ]);
    }));

    const commit = el('button', { cls: 'btn btn-primary', type: 'button', text: '确认入账', attrs: { id: 'minutes-commit' } });
    commit.addEventListener('click', commitMinutes);
    box.appendChild(section('核对抽取结果', 'Review: ' + (p.file || '') + ' · ' + (p.date || '') + ' ' + (p.meeting || ''), [
      el('p', { cls: 'hint', text: ['行数 ' + (st.lines != null ? st.lines : lines.length), '新事项 ' + items.length, '再次提及 ' + linked.length, '状态更新 ' + updates.length,
        st.structured_rate != null ? '结构化率 ' + fmtPct(st.structured_rate) : ''].filter(Boolean).join(' · ') + '。取消勾选的事项不会入账。' }),
      el('div', { cls: 'minutes-grid' }, [
        el('div', { cls: 'minutes-col' }, [el('h3', { cls: 'sub-title', text: '纪要原文' }), src]),
        el('div', { cls: 'minutes-col' }, [
          el('h3', { cls: 'sub-title', text: '行动项（' + items.length + '）' }), cards,
          linked.length ? el('h3', { cls: 'sub-title', text: '与已有事项重复（' + linked.length + '）' }) : null, linked.length ? linkedBox : null,
          updates.length ? el('h3', { cls: 'sub-title', text: '建议的状态更新（' + updates.length + '）' }) : null, updates.length ? updBox : null,
        ]),
      ]),
      el('div', { cls: 'commit-bar' }, [commit, el('span', { cls: 'muted', text: '入账后可在督办台账中继续修改。' })]),
    ], { id: 'minutes-review-card' }));
  }

  function splitOwners(s) {
    return s.split(/[,，、;；\s]+/).map((x) => x.trim()).filter(Boolean);
  }

  /** The item as the person left it: edited fields replace the extracted ones. */
  function editedItem(orig, card) {
    const it = JSON.parse(JSON.stringify(orig));
    it.description = card.querySelector('.item-description').value.trim();
    const owners = splitOwners(card.querySelector('.item-owners').value);
    if (owners.join('|') !== (orig.owners || []).join('|')) {
      it.owners = owners;
      it.owner_ids = [];
      it.unresolved_owners = [];
    }
    const dl = card.querySelector('.item-deadline').value || null;
    if (dl !== (orig.deadline || null)) {
      it.deadline = dl;
      it.deadline_text = dl;
    }
    it.type = card.querySelector('.item-type').value || orig.type;
    const missing = (orig.missing || []).filter((m) => m !== 'owner' && m !== 'deadline');
    if (!it.owners.length) missing.push('owner');
    if (!it.deadline && !it.next_meeting_checkpoint) missing.push('deadline');
    it.missing = missing;
    return it;
  }

  async function commitMinutes() {
    const p = mnstate.preview;
    if (!p) return;
    clearError();
    const items = [];
    document.querySelectorAll('.minutes-item').forEach((card) => {
      if (!card.querySelector('.item-accept').checked) return;
      const orig = p.items[Number(card.dataset.index)];
      const it = editedItem(orig, card);
      if (it.description) items.push(it);
    });
    document.querySelectorAll('.linked-accept').forEach((c) => {
      if (c.checked) items.push(p.linked[Number(c.dataset.index)].item);
    });
    const applyUpdates = [];
    document.querySelectorAll('.update-accept').forEach((c) => { if (c.checked) applyUpdates.push(Number(c.dataset.itemId)); });
    const btn = $('minutes-commit');
    btn.disabled = true;
    btn.textContent = '入账中…';
    try {
      const r = await api('POST', '/api/minutes/' + encodeURIComponent(p.upload_id) + '/commit', { items, apply_updates: applyUpdates });
      renderMinutesResult(r);
      btn.textContent = '已入账';
      document.querySelectorAll('#minutes-review input, #minutes-review textarea, #minutes-review select').forEach((c) => { c.disabled = true; });
    } catch (e) {
      btn.disabled = false;
      btn.textContent = '确认入账';
      fail(e, '入账');
    }
  }

  function renderMinutesResult(r) {
    const box = clear($('minutes-result'));
    const items = r.items || [];
    const link = '/ledger' + (r.meeting_id != null ? '?meeting=' + encodeURIComponent(r.meeting_id) : '');
    const table = el('table', { cls: 'data-table' }, [
      el('thead', null, [el('tr', null, ['编号', '事项', '类型', '负责人', '截止'].map((h) => el('th', { text: h })))]),
      el('tbody', null, items.map((it) => el('tr', { cls: 'stored-item', data: { id: it.id } }, [
        td(it.id != null ? '#' + it.id : '—', 'mono'), td(it.description), td(it.type), td((it.owners || []).join('、')), td(it.deadline || it.deadline_text),
      ]))),
    ]);
    box.appendChild(section('已入账', 'Stored', [
      el('p', { cls: 'result-line', text: '会议 #' + (r.meeting_id != null ? r.meeting_id : '—') + ' ' + (r.date || '') + ' ' + (r.meeting || '') + '：新事项 ' + items.length +
        ' 项，再次提及 ' + (r.linked || []).length + ' 项，状态更新 ' + (r.updates || []).length + ' 项' + (r.applied ? '（已应用）' : '') + '。' }),
      el('div', { cls: 'table-wrap' }, [table]),
      el('p', null, [el('a', { cls: 'btn btn-primary', text: '在督办台账中查看', attrs: { href: link, id: 'minutes-ledger-link' } }), ' ',
        el('a', { cls: 'btn btn-ghost', text: '全部事项', attrs: { href: '/ledger' } })]),
    ], { cls: 'result-card' }));
    box.scrollIntoView({ block: 'start' });
  }

  // ======================================================== 数据导入 ======
  const KIND_LABELS = [['', '自动识别'], ['sales', '销售明细 sales'], ['targets', '目标 targets'], ['receivables', '合同/回款 receivables'], ['fx', '汇率 fx']];
  const QUARANTINE_ZH = {
    missing_value: '必填为空', bad_number: '不是数字', bad_month: '月份无法识别', bad_date: '日期无法识别', bad_currency: '币种无法识别', duplicate_key: '文件内重复',
  };

  VIEWS.import = function (root) {
    root.appendChild(pageHead('数据导入', 'Excel import · 销售明细、目标、合同/回款、汇率'));
    if (!canManage()) {
      root.appendChild(notice('数据导入仅限管理员和运营人员使用。如需导入，请联系运营。', 'notice-warn'));
      return;
    }
    const file = el('input', { type: 'file', attrs: { id: 'import-file', accept: '.xlsx,.xlsm,.xls,.ods,.csv', required: '' } });
    const kind = el('select', { attrs: { id: 'import-kind' } }, KIND_LABELS.map(([v, l]) => option(v, l)));
    const append = el('input', { type: 'checkbox', attrs: { id: 'import-append' } });
    const submit = el('button', { cls: 'btn btn-primary', type: 'submit', text: '导入', attrs: { id: 'import-submit' } });
    const form = el('form', { cls: 'toolbar' }, [
      field('Excel / CSV 文件', file, 'grow'), field('类型', kind),
      el('label', { cls: 'check', title: '追加：不替换文件覆盖月份的已有行' }, [append, el('span', { text: '追加（不替换同月数据）' })]),
      submit,
    ]);
    form.addEventListener('submit', submitImport);
    root.appendChild(section('上传文件', 'Upload', [form, el('p', { cls: 'hint', text: '默认替换文件所覆盖月份的旧数据；每次导入是一个批次，可整体撤销。' })]));
    root.appendChild(el('div', { attrs: { id: 'import-report' } }));
    root.appendChild(section('隔离行', 'Quarantine', [el('p', { cls: 'hint', attrs: { id: 'quarantine-caption' }, text: '选择一个批次查看被隔离的行。' }),
      el('div', { cls: 'table-wrap' }, [el('table', { cls: 'data-table', attrs: { id: 'quarantine-table' } }, [
        el('thead', null, [el('tr', null, ['文件', '工作表', '行', '列', '原始值', '原因'].map((h) => el('th', { text: h })))]), el('tbody'),
      ])])]));
    root.appendChild(section('导入批次', 'Batches', [el('div', { cls: 'table-wrap' }, [el('table', { cls: 'data-table', attrs: { id: 'import-batches' } }, [
      el('thead', null, [el('tr', null, ['批次', '文件', '导入时间', '导入人', '读取', '导入', '替换', '隔离', '方式', '状态', ''].map((h) => el('th', { text: h })))]), el('tbody'),
    ])])]));
    loadBatches();
  };

  async function submitImport(ev) {
    ev.preventDefault();
    clearError();
    const f = $('import-file').files[0];
    if (!f) { showError('请选择要导入的文件'); return; }
    const form = new FormData();
    form.append('file', f, f.name);
    if ($('import-kind').value) form.append('kind', $('import-kind').value);
    if ($('import-append').checked) form.append('append', '1');
    const btn = $('import-submit');
    btn.disabled = true;
    btn.textContent = '导入中…';
    const box = clear($('import-report'));
    box.appendChild(notice('正在导入…'));
    try {
      const r = await upload('/api/import', form);
      renderImportReport(r);
      if (r.batch_id != null) loadQuarantine(r.batch_id);
      loadBatches();
    } catch (e) {
      clear(box);
      fail(e, '导入');
    } finally {
      btn.disabled = false;
      btn.textContent = '导入';
    }
  }

  function renderImportReport(r) {
    const box = clear($('import-report'));
    const kids = [];
    if (r.duplicate) kids.push(notice('该文件已导入过（批次 #' + r.batch_id + '），本次没有导入任何行。', 'notice-warn'));
    kids.push(el('div', { cls: 'stat-row' }, [
      stat('读取行', r.rows_read, 'rows_read'), stat('导入', r.imported, 'imported'), stat('替换', r.replaced, 'replaced'),
      stat('隔离', r.quarantined, 'quarantined'), stat('批次', r.batch_id != null ? '#' + r.batch_id : '—', 'batch'),
    ]));
    const sheets = r.sheets || [];
    if (sheets.length) kids.push(el('div', { cls: 'table-wrap' }, [el('table', { cls: 'data-table sheet-table' }, [
      el('thead', null, [el('tr', null, ['工作表', '类型', '表头行', '读取', '导入', '替换', '隔离', '跳过', '月份', '状态'].map((h) => el('th', { text: h })))]),
      el('tbody', null, sheets.map((s) => el('tr', { cls: 'sheet-row', data: { sheet: s.sheet } }, [
        td(s.sheet), td(s.kind), td(s.header_row), td(s.rows_read, 'num'), td(s.imported, 'num'), td(s.replaced, 'num'),
        td(s.quarantined, 'num', 'quarantined'), td(s.skipped_rows, 'num'),
        td((s.months || []).length > 3 ? s.months[0] + ' ~ ' + s.months[s.months.length - 1] + '（' + s.months.length + ' 个月）' : (s.months || []).join('、')),
        td(s.status === 'skipped' ? '跳过' + (s.skip_reason ? '：' + s.skip_reason : '') : '已导入'),
      ]))),
    ])]));
    const un = r.unresolved || {};
    const unRows = [];
    [['countries', '国家'], ['customers', '客户'], ['specs', '规格'], ['categories', '品类']].forEach(([k, zh]) => {
      (un[k] || []).forEach((n) => unRows.push(el('tr', { cls: 'unresolved-row' }, [td(zh), td(n.name), td(n.rows, 'num'), td((n.suggestions || []).join('、') || '—')])));
    });
    if (unRows.length) {
      kids.push(el('h3', { cls: 'sub-title', text: '未识别的名称（已导入并标记，请补充字典）' }));
      kids.push(el('div', { cls: 'table-wrap' }, [el('table', { cls: 'data-table' }, [
        el('thead', null, [el('tr', null, ['字段', '名称', '行数', '可能是'].map((h) => el('th', { text: h })))]), el('tbody', null, unRows),
      ])]));
    }
    if ((r.warnings || []).length) {
      kids.push(el('h3', { cls: 'sub-title', text: '提示' }));
      kids.push(el('ul', { cls: 'plain-list warn-list' }, r.warnings.map((w) => el('li', { text: w }))));
    }
    box.appendChild(section('导入报告', 'Report · ' + (r.file || ''), kids, { cls: 'result-card' }));
  }

  async function loadQuarantine(batch) {
    const table = $('quarantine-table');
    if (!table) return;
    const body = clear(table.tBodies[0]);
    $('quarantine-caption').textContent = '批次 #' + batch + ' 的隔离行';
    try {
      const list = asList(await api('GET', '/api/quarantine' + qs([['batch', batch]])), 'entries');
      list.forEach((q) => body.appendChild(el('tr', { cls: 'quarantine-row', data: { id: q.id } }, [
        td(q.file), td(q.sheet), td(q.row, 'num'), td(q.column), td(q.raw_value == null ? '（空）' : q.raw_value, 'mono'),
        td(el('span', { text: QUARANTINE_ZH[q.reason] || q.reason, title: q.reason })),
      ])));
      if (!list.length) body.appendChild(emptyRow(6, '该批次没有隔离行'));
    } catch (e) {
      fail(e, '隔离行');
    }
  }

  async function loadBatches() {
    const table = $('import-batches');
    if (!table) return;
    try {
      const list = asList(await api('GET', '/api/import'), 'batches');
      const body = clear(table.tBodies[0]);
      list.forEach((b) => {
        const active = !b.undone_at;
        const show = el('button', { cls: 'btn btn-ghost btn-sm show-quarantine', type: 'button', text: '隔离行', data: { batch: b.id } });
        show.addEventListener('click', () => loadQuarantine(b.id));
        const undo = active ? el('button', { cls: 'btn btn-danger btn-sm undo-batch', type: 'button', text: '撤销', data: { batch: b.id } }) : null;
        if (undo) undo.addEventListener('click', () => undoBatch(b, undo));
        body.appendChild(el('tr', { cls: 'batch-row' + (active ? '' : ' undone'), data: { batch: b.id } }, [
          td('#' + b.id, 'mono'), td(b.file_name), td(fmtDate(b.imported_at)), td(b.imported_by),
          td(b.rows_read, 'num'), td(b.rows_imported, 'num'), td(b.rows_replaced, 'num'), td(b.rows_quarantined, 'num'),
          td(b.append ? '追加' : '替换'), td(active ? '有效' : '已撤销 ' + fmtDate(b.undone_at)),
          el('td', { cls: 'actions' }, [show, undo]),
        ]));
      });
      if (!list.length) body.appendChild(emptyRow(11, '还没有导入批次'));
    } catch (e) {
      fail(e, '导入批次');
    }
  }

  async function undoBatch(b, btn) {
    if (!window.confirm('撤销批次 #' + b.id + '（' + b.file_name + '）？该批次导入的行将被删除，被它替换的旧行恢复。')) return;
    btn.disabled = true;
    try {
      const r = await api('POST', '/api/import/' + encodeURIComponent(b.id) + '/undo', {});
      toast('已撤销批次 #' + b.id + '：删除 ' + (r.deleted != null ? r.deleted : '?') + ' 行，恢复 ' + (r.restored != null ? r.restored : '?') + ' 行');
      loadBatches();
    } catch (e) {
      btn.disabled = false;
      fail(e, '撤销');
    }
  }

  // ========================================================== 知识库 ======
  VIEWS.kb = function (root) {
    root.appendChild(pageHead('知识库', 'Knowledge bases · 文档、密级与索引'));
    if (canManage()) {
      const file = el('input', { type: 'file', attrs: { id: 'kb-file', required: '', accept: '.md,.txt,.docx,.pdf,.markdown,.html,.xlsx,.csv' } });
      const kb = el('select', { attrs: { id: 'kb-kb' } }, KB_IDS.map((k) => option(k, KB_NAMES[k] + ' ' + k)));
      const sens = el('select', { attrs: { id: 'kb-sensitivity' } }, SENSITIVITIES.map((s) => option(s, s, s === '内部')));
      const submit = el('button', { cls: 'btn btn-primary', type: 'submit', text: '上传并索引', attrs: { id: 'kb-submit' } });
      const form = el('form', { cls: 'toolbar' }, [field('文档', file, 'grow'), field('知识库', kb), field('密级', sens), submit]);
      form.addEventListener('submit', submitKb);
      root.appendChild(section('上传文档', 'Upload', [form,
        el('div', { cls: 'progress', attrs: { id: 'kb-progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' }, hidden: true }, [
          el('div', { cls: 'progress-track' }, [el('div', { cls: 'progress-fill' })]),
          el('div', { cls: 'progress-text' }),
        ])]));
    }
    root.appendChild(section('文档', 'Documents', [el('p', { cls: 'table-caption', attrs: { id: 'kb-caption' } }),
      el('div', { cls: 'table-wrap' }, [el('table', { cls: 'data-table', attrs: { id: 'kb-table' } }, [
        el('thead', null, [el('tr', null, ['标题', '文档', '密级', '分块', '日期', ''].map((h) => el('th', { text: h })))]), el('tbody'),
      ])])]));
    loadKb();
  };

  function docPath(doc) { return String(doc).split('/').map(encodeURIComponent).join('/'); }

  async function loadKb() {
    const table = $('kb-table');
    if (!table) return;
    try {
      const docs = asList(await api('GET', '/api/kb'), 'documents');
      const body = clear(table.tBodies[0]);
      const groups = {};
      docs.forEach((d) => { (groups[d.kb] = groups[d.kb] || []).push(d); });
      const order = KB_IDS.filter((k) => groups[k]).concat(Object.keys(groups).filter((k) => KB_IDS.indexOf(k) === -1));
      let chunks = 0;
      order.forEach((k) => {
        const list = groups[k].sort((a, b) => String(a.doc).localeCompare(String(b.doc)));
        const n = list.reduce((a, d) => a + (Number(d.chunks) || 0), 0);
        chunks += n;
        body.appendChild(el('tr', { cls: 'kb-group', data: { kb: k } }, [el('th', {
          attrs: { colspan: 6, scope: 'rowgroup' }, text: (KB_NAMES[k] || k) + ' · ' + k + '（' + list.length + ' 篇，' + n + ' 块）' })]));
        list.forEach((d) => {
          const del = canManage() ? el('button', { cls: 'btn btn-ghost btn-sm kb-delete', type: 'button', text: '删除', data: { doc: d.doc } }) : null;
          if (del) del.addEventListener('click', () => deleteDoc(d, del));
          body.appendChild(el('tr', { cls: 'kb-row', data: { doc: d.doc, kb: d.kb } }, [
            td(d.title || d.doc), td(d.doc, 'mono'),
            td(el('span', { cls: 'sensitivity sens-' + (SENSITIVITIES.indexOf(d.sensitivity) + 1), text: d.sensitivity || '—' })),
            td(d.chunks, 'num'), td(d.date), el('td', { cls: 'actions' }, [del]),
          ]));
        });
      });
      if (!docs.length) body.appendChild(emptyRow(6, '没有可见的文档'));
      $('kb-caption').textContent = '共 ' + docs.length + ' 篇文档，' + chunks + ' 个分块（仅显示您的密级与知识库权限内的文档）';
    } catch (e) {
      fail(e, '知识库');
    }
  }

  async function deleteDoc(d, btn) {
    if (!window.confirm('从知识库删除「' + (d.title || d.doc) + '」？')) return;
    btn.disabled = true;
    try {
      const r = await api('DELETE', '/api/kb/' + docPath(d.doc));
      toast('已删除 ' + ((r.removed || []).length || 1) + ' 篇');
      loadKb();
    } catch (e) {
      btn.disabled = false;
      fail(e, '删除文档');
    }
  }

  function setProgress(job) {
    const box = $('kb-progress');
    if (!box) return;
    box.hidden = false;
    const total = Number(job.total) || 0;
    const done = Number(job.done) || 0;
    const pct = job.status === 'done' ? 100 : total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
    box.dataset.status = job.status || 'running';
    box.setAttribute('aria-valuenow', String(pct));
    const fill = box.querySelector('.progress-fill');
    fill.style.width = pct + '%';
    const STAGE = { queued: '排队', reading: '读取', parsing: '解析', chunking: '分块', embedding: '向量化', indexing: '写入索引', done: '完成', failed: '失败' };
    const stage = job.stage && job.stage !== job.status ? STAGE[job.stage] || job.stage : '';
    let text = (job.status === 'done' ? '完成' : job.status === 'failed' ? '失败' : '索引中') + (stage ? ' · ' + stage : '') + (total ? ' · ' + done + ' / ' + total : '') + ' · ' + pct + '%';
    if (job.status === 'failed' && job.error) text += ' · ' + (typeof job.error === 'string' ? job.error : job.error.message || '');
    box.querySelector('.progress-text').textContent = text;
  }

  async function submitKb(ev) {
    ev.preventDefault();
    clearError();
    const f = $('kb-file').files[0];
    if (!f) { showError('请选择文档'); return; }
    const form = new FormData();
    form.append('file', f, f.name);
    form.append('kb', $('kb-kb').value);
    form.append('sensitivity', $('kb-sensitivity').value);
    const btn = $('kb-submit');
    btn.disabled = true;
    setProgress({ status: 'running', stage: 'queued', done: 0, total: 0 });
    try {
      const r = await upload('/api/kb', form);
      if (r.job_id == null) throw new ApiError('服务器没有返回 job_id', 0, '');
      await pollJob(r.job_id);
    } catch (e) {
      setProgress({ status: 'failed', error: e.message });
      fail(e, '上传文档');
    } finally {
      btn.disabled = false;
    }
  }

  async function pollJob(id) {
    for (;;) {
      const job = await api('GET', '/api/kb/jobs/' + encodeURIComponent(id));
      if (!$('kb-progress')) return;
      setProgress(job);
      if (job.status === 'done') { toast('索引完成'); loadKb(); return; }
      if (job.status === 'failed') { showError('索引失败：' + (job.error && (job.error.message || job.error) || '未知错误')); return; }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  // ============================================================ 管理 ======
  VIEWS.admin = function (root) {
    root.appendChild(pageHead('管理', 'Administration · 账号、审计、反馈与系统状态'));
    if (role() !== 'admin') {
      root.appendChild(notice('管理页面仅限管理员使用。', 'notice-warn'));
      return;
    }
    root.appendChild(section('系统状态', 'System status', [el('div', { attrs: { id: 'system-status' }, cls: 'status-box' }, [notice('加载中…')])]));
    root.appendChild(section('AI 输出可用率', 'Feedback', [el('div', { attrs: { id: 'feedback-stats' } }, [notice('加载中…')])]));

    // users
    const name = el('input', { type: 'text', attrs: { name: 'name', required: '', autocomplete: 'off', id: 'user-add-name' } });
    const pw = el('input', { type: 'password', attrs: { name: 'password', autocomplete: 'new-password', id: 'user-add-password', minlength: '8' } });
    const roleSel = el('select', { attrs: { name: 'role', id: 'user-add-role' } }, ROLES.map(([v, l]) => option(v, l, v === 'sales')));
    const clr = el('select', { attrs: { name: 'clearance', id: 'user-add-clearance' } }, SENSITIVITIES.map((s) => option(s, s, s === '内部')));
    const kbs = kbChecks([], 'user-add-kb');
    const addForm = el('form', { cls: 'toolbar user-add', attrs: { id: 'user-add-form' } }, [
      field('用户名', name), field('初始密码', pw), field('角色', roleSel), field('密级', clr),
      el('div', { cls: 'ws-field' }, [el('span', { cls: 'ws-field-label', text: '知识库（不选 = 全部）' }), kbs]),
      el('button', { cls: 'btn btn-primary', type: 'submit', text: '添加账号', attrs: { id: 'user-add-submit' } }),
    ]);
    addForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError();
      if (!name.value.trim()) { showError('请输入用户名'); return; }
      try {
        await api('POST', '/api/users', { name: name.value.trim(), password: pw.value, role: roleSel.value, clearance: clr.value, kbs: checkedKbs(kbs) });
        toast('已添加 ' + name.value.trim());
        addForm.reset();
        loadUsers();
      } catch (e) { fail(e, '添加账号'); }
    });
    root.appendChild(section('账号', 'Users', [
      el('div', { cls: 'table-wrap' }, [el('table', { cls: 'data-table users-table', attrs: { id: 'users-table' } }, [
        el('thead', null, [el('tr', null, ['用户名', '角色', '密级', '知识库', '状态', '创建时间', '操作', '重置密码'].map((h) => el('th', { text: h })))]), el('tbody'),
      ])]),
      el('h3', { cls: 'sub-title', text: '添加账号' }), addForm,
    ]));

    // audit
    const au = el('input', { type: 'text', attrs: { id: 'audit-user', placeholder: '用户' } });
    const aa = el('input', { type: 'text', attrs: { id: 'audit-action', placeholder: '如 login, ask, import' } });
    const as = el('input', { type: 'date', attrs: { id: 'audit-since' } });
    const ut = el('input', { type: 'date', attrs: { id: 'audit-until' } });
    const lim = el('input', { type: 'number', value: '200', attrs: { id: 'audit-limit', min: '1', max: '10000' } });
    const csv = el('a', { cls: 'btn btn-ghost', text: '下载 CSV', attrs: { id: 'audit-csv', href: '/api/audit.csv', download: '' } });
    const af = el('form', { cls: 'toolbar' }, [field('用户', au), field('操作', aa), field('起', as), field('止', ut), field('条数', lim),
      el('button', { cls: 'btn btn-primary', type: 'submit', text: '查询', attrs: { id: 'audit-apply' } }), el('div', { cls: 'toolbar-spacer' }), csv]);
    af.addEventListener('submit', (ev) => { ev.preventDefault(); loadAudit(); });
    [au, aa, as, ut, lim].forEach((c) => c.addEventListener('change', updateAuditCsv));
    root.appendChild(section('审计日志', 'Audit log', [af, el('div', { cls: 'table-wrap' }, [el('table', { cls: 'data-table', attrs: { id: 'audit-table' } }, [
      el('thead', null, [el('tr', null, ['时间', '用户', '操作', '详情'].map((h) => el('th', { text: h })))]), el('tbody'),
    ])])]));

    loadStatus();
    loadFeedback();
    loadUsers();
    loadAudit();
  };

  function kbChecks(selected, prefix) {
    return el('div', { cls: 'kb-checks' }, KB_IDS.map((k) => {
      const c = el('input', { type: 'checkbox', cls: 'kb-check', value: k, attrs: prefix ? { id: prefix + '-' + k } : null });
      c.checked = selected.indexOf(k) !== -1;
      return el('label', { cls: 'check small', title: KB_NAMES[k] }, [c, el('span', { text: k })]);
    }));
  }
  function checkedKbs(box) { return Array.from(box.querySelectorAll('.kb-check')).filter((c) => c.checked).map((c) => c.value); }

  async function loadUsers() {
    const table = $('users-table');
    if (!table) return;
    try {
      const users = asList(await api('GET', '/api/users'), 'users');
      const body = clear(table.tBodies[0]);
      users.forEach((u) => body.appendChild(userRow(u)));
      if (!users.length) body.appendChild(emptyRow(8, '没有账号'));
    } catch (e) { fail(e, '账号'); }
  }

  function userRow(u) {
    const roleSel = el('select', { cls: 'user-role', attrs: { 'aria-label': '角色' } }, ROLES.map(([v, l]) => option(v, l, v === u.role)));
    const clr = el('select', { cls: 'user-clearance', attrs: { 'aria-label': '密级' } }, SENSITIVITIES.map((s) => option(s, s, s === u.clearance)));
    const all = !u.kbs || !u.kbs.length || KB_IDS.every((k) => u.kbs.indexOf(k) !== -1);
    const kbs = kbChecks(all ? [] : u.kbs);
    kbs.title = '不选 = 全部知识库';
    const save = el('button', { cls: 'btn btn-primary btn-sm user-save', type: 'button', text: '保存' });
    const toggle = el('button', { cls: 'btn btn-ghost btn-sm user-toggle', type: 'button', text: u.disabled ? '启用' : '停用' });
    const pw = el('input', { type: 'password', cls: 'user-password', attrs: { placeholder: '新密码', autocomplete: 'new-password', 'aria-label': '新密码' } });
    const reset = el('button', { cls: 'btn btn-ghost btn-sm user-reset', type: 'button', text: '重置' });
    const tr = el('tr', { cls: 'user-row' + (u.disabled ? ' disabled' : ''), data: { user: u.name } }, [
      td(u.name, 'mono'), el('td', null, [roleSel]), el('td', null, [clr]), el('td', null, [kbs]),
      td(el('span', { cls: 'pill ' + (u.disabled ? 'pill-off' : 'pill-on'), text: u.disabled ? '已停用' : '正常' })),
      td(fmtDate(u.created_at)), el('td', { cls: 'actions' }, [save, toggle]), el('td', { cls: 'actions' }, [pw, reset]),
    ]);
    const post = async (body, msg) => {
      try {
        const r = await api('POST', '/api/users/' + encodeURIComponent(u.name), body);
        toast(msg);
        const nu = Object.assign({}, u, r && r.name ? r : body);
        tr.replaceWith(userRow(nu));
      } catch (e) { fail(e, '修改账号'); }
    };
    save.addEventListener('click', () => post({ role: roleSel.value, clearance: clr.value, kbs: checkedKbs(kbs) }, '已保存 ' + u.name));
    toggle.addEventListener('click', () => {
      if (!u.disabled && !window.confirm('停用账号 ' + u.name + '？其会话将失效。')) return;
      post({ disabled: !u.disabled }, (u.disabled ? '已启用 ' : '已停用 ') + u.name);
    });
    reset.addEventListener('click', () => {
      if (!pw.value) { showError('请输入新密码'); pw.focus(); return; }
      post({ password: pw.value }, '已重置 ' + u.name + ' 的密码');
    });
    return tr;
  }

  function auditParams() {
    return [['user', $('audit-user').value.trim()], ['action', $('audit-action').value.trim()], ['since', $('audit-since').value],
      ['until', $('audit-until').value], ['limit', $('audit-limit').value]];
  }
  function updateAuditCsv() { if ($('audit-csv')) $('audit-csv').setAttribute('href', '/api/audit.csv' + qs(auditParams())); }

  async function loadAudit() {
    const table = $('audit-table');
    if (!table) return;
    updateAuditCsv();
    try {
      const rows = asList(await api('GET', '/api/audit' + qs(auditParams())), 'entries');
      const body = clear(table.tBodies[0]);
      rows.forEach((r) => body.appendChild(el('tr', { cls: 'audit-row', data: { id: r.id } }, [
        td(fmtDate(r.at), 'nowrap'), td(r.actor || r.user), td(r.action), td(el('span', { cls: 'mono detail', text: typeof r.detail === 'string' ? r.detail : JSON.stringify(r.detail || '') })),
      ])));
      if (!rows.length) body.appendChild(emptyRow(4, '没有符合条件的记录'));
    } catch (e) { fail(e, '审计日志'); }
  }

  async function loadFeedback() {
    const box = $('feedback-stats');
    try {
      const s = await api('GET', '/api/feedback/stats');
      clear(box).appendChild(el('div', { cls: 'stat-row' }, [
        stat('可用率', s.usable_rate == null ? '—' : fmtPct(s.usable_rate), 'usable_rate', '有帮助 ÷ 已评价'),
        stat('已评价', s.rated, 'rated'), stat('有帮助', s.up, 'up'), stat('没帮助', s.down, 'down'), stat('带评论', s.with_comment, 'with_comment'),
      ]));
      if (s.drafts || s.draft_usable_rate != null) box.appendChild(el('p', { cls: 'hint', text: '草稿可用率 ' + fmtPct(s.draft_usable_rate) }));
    } catch (e) {
      clear(box).appendChild(notice('加载失败：' + e.message, 'notice-error'));
      fail(e, '反馈统计');
    }
  }

  async function loadStatus() {
    const box = $('system-status');
    try {
      const s = await api('GET', '/api/status');
      const ix = s.index || {};
      const q = s.queue || {};
      const months = Array.isArray(s.sales_months) ? s.sales_months.filter(Boolean).join(' ~ ') : s.sales_months;
      const dl = el('dl', { cls: 'kv kv-wide' });
      const kv = (k, v) => { dl.appendChild(el('dt', { text: k })); dl.appendChild(el('dd', { text: v == null || v === '' ? '—' : v })); };
      kv('版本', s.version);
      kv('对话模型', s.model || '未加载（仅规则与引用）');
      kv('向量模型', s.embedder);
      kv('索引', '文档 ' + (ix.documents != null ? ix.documents : '—') + ' · 分块 ' + (ix.chunks != null ? ix.chunks : '—') + ' · 向量 ' + (ix.vectors != null ? ix.vectors : '—'));
      kv('销售数据月份', months);
      kv('生成队列', Object.keys(q).map((k) => k + ' ' + (typeof q[k] === 'object' ? JSON.stringify(q[k]) : q[k])).join(' · '));
      clear(box).appendChild(dl);
      asList(s.notes, 'notes').forEach((n) => box.appendChild(notice(typeof n === 'string' ? n : JSON.stringify(n), 'notice-warn')));
    } catch (e) {
      clear(box).appendChild(notice('加载失败：' + e.message, 'notice-error'));
      fail(e, '系统状态');
    }
  }

  // -------------------------------------------------------------- wiring ---
  async function init() {
    $('login-form').addEventListener('submit', onLoginSubmit);
    $('logout').addEventListener('click', logout);
    $('error-banner').querySelector('.error-close').addEventListener('click', clearError);
    document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closePanel(); });
    try {
      const me = await api('GET', '/api/me');
      enterApp(me);
    } catch (e) {
      showLogin(e.status === 401 ? '' : e.message);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
