/* lodestar — browser front end. Plain JS, no libraries; CSP-safe (no inline code). */
(function () {
  'use strict';

  // ---------------------------------------------------------------- i18n ---
  const I18N = {
    zh: {
      appTitle: '北辰 lodestar · 销售运营助手', appName: '北辰 lodestar', appSubtitle: '销售运营助手',
      loginHint: '请使用内网账号登录', loginUser: '用户名', loginPassword: '密码', loginSubmit: '登录',
      loginBusy: '登录中…', loginMissing: '请输入用户名和密码', loginFailed: '用户名或密码错误',
      loginTooMany: '尝试次数过多，请稍后再试', sessionExpired: '会话已过期，请重新登录',
      logout: '退出登录', newConversation: '新对话', conversations: '对话记录', noConversations: '暂无对话',
      untitled: '未命名对话', delete: '删除', confirmDelete: '删除此对话？', confirmYes: '删除', cancel: '取消',
      emptyTitle: '有什么可以帮您？', emptyHint: '可以询问销售达成、客户信用与账款、产品适配以及政策条款。',
      examplesLabel: '试试这些问题', placeholder: '输入问题，Enter 发送，Shift+Enter 换行',
      composerNote: '回答可能有误，涉及金额、信用与政策请以系统和原文为准。',
      send: '发送', stop: '停止', queued: '排队中，前面还有 {n} 个', needsReview: '需人工复核',
      needsReviewTitle: '此部分由模型或文档生成，请人工核对', citationsLabel: '引用来源',
      copy: '复制', copied: '已复制', copyFailed: '复制失败', rateUp: '有帮助', rateDown: '没帮助',
      feedbackPlaceholder: '补充说明（可选）', feedbackSubmit: '提交', feedbackDone: '已反馈',
      feedbackFailed: '反馈提交失败', stopped: '已停止', busy: '服务繁忙，请稍后再试',
      networkError: '网络错误，请检查连接', streamInterrupted: '连接中断，回答可能不完整',
      genericError: '出错了', loadFailed: '加载失败', deleteFailed: '删除失败',
      citationHeading: '引用详情', citationKb: '知识库', citationSection: '章节', citationSensitivity: '密级',
      citationDoc: '文档', citationSnippet: '摘录', close: '关闭', langTitle: 'Switch to English',
    },
    en: {
      appTitle: 'Lodestar · Sales Operations Assistant', appName: 'Lodestar', appSubtitle: 'Sales Operations Assistant',
      loginHint: 'Sign in with your intranet account', loginUser: 'Username', loginPassword: 'Password', loginSubmit: 'Sign in',
      loginBusy: 'Signing in…', loginMissing: 'Please enter username and password', loginFailed: 'Wrong username or password',
      loginTooMany: 'Too many attempts, please try again later', sessionExpired: 'Session expired, please sign in again',
      logout: 'Sign out', newConversation: 'New chat', conversations: 'Conversations', noConversations: 'No conversations yet',
      untitled: 'Untitled', delete: 'Delete', confirmDelete: 'Delete this conversation?', confirmYes: 'Delete', cancel: 'Cancel',
      emptyTitle: 'How can I help?', emptyHint: 'Ask about sales attainment, customer credit and receivables, product fitment or policy terms.',
      examplesLabel: 'Try one of these', placeholder: 'Ask a question — Enter to send, Shift+Enter for a new line',
      composerNote: 'Answers may contain mistakes; verify amounts, credit and policy against the source systems.',
      send: 'Send', stop: 'Stop', queued: 'Queued: position {n}', needsReview: 'Needs review',
      needsReviewTitle: 'Written by the model or taken from documents; please verify', citationsLabel: 'Sources',
      copy: 'Copy', copied: 'Copied', copyFailed: 'Copy failed', rateUp: 'Helpful', rateDown: 'Not helpful',
      feedbackPlaceholder: 'Add a comment (optional)', feedbackSubmit: 'Submit', feedbackDone: 'Feedback sent',
      feedbackFailed: 'Could not send feedback', stopped: 'Stopped', busy: 'Service busy, please try again later',
      networkError: 'Network error, please check your connection', streamInterrupted: 'Connection lost; the answer may be incomplete',
      genericError: 'Something went wrong', loadFailed: 'Failed to load', deleteFailed: 'Delete failed',
      citationHeading: 'Source details', citationKb: 'Knowledge base', citationSection: 'Section', citationSensitivity: 'Sensitivity',
      citationDoc: 'Document', citationSnippet: 'Excerpt', close: 'Close', langTitle: '切换到中文',
    },
  };
  // Sensitivity labels come from the server in Chinese; translate for display in English.
  const SENSITIVITY_EN = { '公开': 'Public', '内部': 'Internal', '秘密': 'Secret', '机密': 'Confidential', '绝密': 'Top secret' };

  let lang = readLang();

  function readLang() {
    try { return localStorage.getItem('lodestar.lang') === 'en' ? 'en' : 'zh'; } catch (_) { return 'zh'; }
  }

  /** Translate a key, substituting {name} placeholders. */
  function t(key, params) {
    let s = (I18N[lang] && I18N[lang][key]) || I18N.zh[key] || key;
    if (params) Object.keys(params).forEach((k) => { s = s.split('{' + k + '}').join(String(params[k])); });
    return s;
  }

  function sensitivityLabel(s) {
    if (s == null || s === '') return '—';
    return lang === 'en' && SENSITIVITY_EN[s] ? SENSITIVITY_EN[s] : String(s);
  }

  /** Re-apply every translatable label under root (static and dynamic elements alike). */
  function applyI18n(root) {
    const scope = root || document;
    scope.querySelectorAll('[data-i18n]').forEach((node) => {
      const n = node.getAttribute('data-i18n-n');
      node.textContent = t(node.getAttribute('data-i18n'), n != null ? { n } : null);
    });
    scope.querySelectorAll('[data-i18n-placeholder]').forEach((node) => {
      node.setAttribute('placeholder', t(node.getAttribute('data-i18n-placeholder')));
    });
    scope.querySelectorAll('[data-i18n-title]').forEach((node) => {
      node.setAttribute('title', t(node.getAttribute('data-i18n-title')));
    });
  }

  function setLang(next) {
    lang = next === 'en' ? 'en' : 'zh';
    try { localStorage.setItem('lodestar.lang', lang); } catch (_) { /* private mode */ }
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.title = t('appTitle');
    document.querySelectorAll('[data-lang-toggle]').forEach((b) => {
      b.classList.toggle('is-en', lang === 'en');
      b.setAttribute('title', t('langTitle'));
    });
    applyI18n(document);
    renderUserInfo();
    document.querySelectorAll('.sensitivity[data-raw]').forEach((n) => { n.textContent = sensitivityLabel(n.dataset.raw); });
  }

  // --------------------------------------------------------- DOM helpers ---
  const $ = (id) => document.getElementById(id);

  /**
   * Create an element. opts: {cls, text, i18n, n, attrs, data, hidden, type}.
   * Text is always set via textContent (never innerHTML).
   */
  function el(tag, opts, children) {
    const node = document.createElement(tag);
    const o = opts || {};
    if (o.cls) node.className = o.cls;
    if (o.type) node.type = o.type;
    if (o.i18n) {
      node.setAttribute('data-i18n', o.i18n);
      if (o.n != null) node.setAttribute('data-i18n-n', String(o.n));
      node.textContent = t(o.i18n, o.n != null ? { n: o.n } : null);
    } else if (o.text != null) {
      node.textContent = String(o.text);
    }
    if (o.attrs) Object.keys(o.attrs).forEach((k) => node.setAttribute(k, o.attrs[k]));
    if (o.data) Object.keys(o.data).forEach((k) => { node.dataset[k] = o.data[k]; });
    if (o.hidden) node.hidden = true;
    (children || []).forEach((c) => c && node.appendChild(c));
    return node;
  }

  const ICONS = {
    up: 'M7 10v12M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z',
    down: 'M17 14V2M9 18.12 10 14H4.17a2 2 0 0 1-1.92-2.56l2.33-8A2 2 0 0 1 6.5 2H20a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-2.76a2 2 0 0 0-1.79 1.11L12 22a3.13 3.13 0 0 1-3-3.88Z',
  };

  /** Small stroke icon built with DOM APIs (no markup strings). */
  function icon(name) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    [['viewBox', '0 0 24 24'], ['width', '16'], ['height', '16'], ['fill', 'none'], ['stroke', 'currentColor'],
      ['stroke-width', '2'], ['stroke-linecap', 'round'], ['stroke-linejoin', 'round'], ['aria-hidden', 'true']]
      .forEach(([k, v]) => svg.setAttribute(k, v));
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  let toastTimer = null;
  function toast(msg) {
    const box = $('toast');
    box.textContent = msg;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 2600);
  }

  // --------------------------------------------------------------- state ---
  const state = {
    me: null,               // {user, role, clearance, kbs, csrf_token}
    csrf: '',
    conversationId: null,   // current conversation (null = new)
    conversations: [],
    stream: null,           // active answer stream, see ask()
    loadSeq: 0,             // guards against out-of-order conversation loads
  };
  const answerText = new WeakMap(); // answer bubble -> plain markdown text (for copy)

  // ----------------------------------------------------------------- API ---
  class ApiError extends Error {
    constructor(message, status, code) { super(message); this.status = status; this.code = code; }
  }

  /** Build an ApiError from a non-2xx response (JSON {"error":{message,...}} when possible). */
  async function errorFromResponse(res) {
    let message = '';
    let code = '';
    try {
      const body = await res.json();
      if (body && body.error) { message = body.error.message || ''; code = body.error.code || ''; }
    } catch (_) { /* not JSON */ }
    if (res.status === 503) message = t('busy'); // overloaded (Retry-After)
    else if (res.status === 429 && !message) message = t('busy');
    return new ApiError(message || t('genericError') + ' (HTTP ' + res.status + ')', res.status, code);
  }

  function jsonHeaders() {
    const h = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (state.csrf) h['X-CSRF-Token'] = state.csrf;
    return h;
  }

  /** JSON request. 401 on anything but login/me sends the user back to the login form. */
  async function api(method, path, body) {
    let res;
    try {
      res = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers: method === 'GET' ? { Accept: 'application/json' } : jsonHeaders(),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(t('networkError'), 0, 'network');
    }
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (res.status === 401 && path !== '/api/login' && path !== '/api/me') sessionExpired();
      throw err;
    }
    const text = await res.text();
    return text ? JSON.parse(text) : {};
  }

  // ----------------------------------------------------------------- SSE ---
  /** Parse one SSE block ("event:"/"data:" lines) and hand it to onEvent(name, data). */
  function dispatchSseBlock(block, onEvent) {
    let name = 'message';
    const data = [];
    block.split('\n').forEach((line) => {
      if (line === '' || line.charAt(0) === ':') return; // keep-alive comment
      const idx = line.indexOf(':');
      const field = idx === -1 ? line : line.slice(0, idx);
      let value = idx === -1 ? '' : line.slice(idx + 1);
      if (value.charAt(0) === ' ') value = value.slice(1);
      if (field === 'event') name = value || 'message';
      else if (field === 'data') data.push(value);
    });
    if (!data.length) return;
    const raw = data.join('\n');
    let parsed;
    try { parsed = JSON.parse(raw); } catch (_) { parsed = raw; }
    onEvent(name, parsed);
  }

  /** Read a text/event-stream response body, calling onEvent for every event. */
  async function readSse(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder('utf-8');
    let buffer = '';
    let carryCR = false; // a '\r' at a chunk boundary may be the first half of '\r\n'
    for (;;) {
      const { value, done } = await reader.read();
      let text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (carryCR) { text = '\r' + text; carryCR = false; }
      if (!done && text.endsWith('\r')) { carryCR = true; text = text.slice(0, -1); }
      buffer += text.replace(/\r\n?/g, '\n');
      let sep;
      while ((sep = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        dispatchSseBlock(block, onEvent);
      }
      if (done) break;
    }
    if (buffer.trim()) dispatchSseBlock(buffer, onEvent);
  }

  // ---------------------------------------------------------------- auth ---
  function showView(which) {
    $('boot').hidden = true;
    $('login-view').hidden = which !== 'login';
    $('app-view').hidden = which !== 'app';
  }

  function renderUserInfo() {
    const me = state.me;
    $('user-info').textContent = me
      ? [me.user, me.role, sensitivityLabel(me.clearance)].filter((x) => x != null && x !== '').join(' · ')
      : '';
  }

  function setMe(me) {
    state.me = me;
    state.csrf = (me && me.csrf_token) || '';
    renderUserInfo();
  }

  function showLogin(message) {
    abortStream(false);
    setMe(null);
    showView('login');
    $('login-error').textContent = message || '';
    $('login-submit').disabled = false;
    $('login-password').value = '';
    $('login-user').focus();
  }

  function sessionExpired() { showLogin(t('sessionExpired')); }

  async function enterApp(me) {
    setMe(me);
    showView('app');
    newConversation();
    await loadConversations();
  }

  async function onLoginSubmit(ev) {
    ev.preventDefault();
    const username = $('login-user').value.trim();
    const password = $('login-password').value;
    const errLine = $('login-error');
    if (!username || !password) { errLine.textContent = t('loginMissing'); return; }
    const btn = $('login-submit');
    btn.disabled = true;
    btn.textContent = t('loginBusy');
    errLine.textContent = '';
    try {
      const me = await api('POST', '/api/login', { username, password });
      $('login-password').value = '';
      await enterApp(me);
    } catch (e) {
      if (e.status === 401) errLine.textContent = t('loginFailed');
      else if (e.status === 429) errLine.textContent = e.message || t('loginTooMany');
      else errLine.textContent = e.message || t('genericError');
    } finally {
      btn.disabled = false;
      btn.textContent = t('loginSubmit');
    }
  }

  async function logout() {
    try { await api('POST', '/api/logout', {}); } catch (_) { /* logged out anyway */ }
    state.conversations = [];
    renderConversationList();
    showLogin('');
  }

  // ------------------------------------------------------- conversations ---
  async function loadConversations() {
    try {
      const data = await api('GET', '/api/conversations');
      state.conversations = (data && data.conversations) || [];
    } catch (e) {
      if (e.status !== 401) toast(t('loadFailed') + '：' + e.message);
    }
    renderConversationList();
  }

  function formatDate(iso) {
    const d = new Date(iso);
    if (!iso || isNaN(d.getTime())) return '';
    const now = new Date();
    if (d.toDateString() === now.toDateString()) {
      return d.toLocaleTimeString(lang === 'en' ? 'en-GB' : 'zh-CN', { hour: '2-digit', minute: '2-digit' });
    }
    return d.toLocaleDateString(lang === 'en' ? 'en-GB' : 'zh-CN', { month: 'short', day: 'numeric' });
  }

  function renderConversationList() {
    const list = $('conversation-list');
    list.textContent = '';
    state.conversations.forEach((c) => list.appendChild(conversationItem(c)));
    $('conversation-empty').hidden = state.conversations.length > 0;
  }

  function conversationItem(c) {
    const li = el('li', { cls: 'conversation-item', data: { conversationId: String(c.id) } });
    if (c.id === state.conversationId) li.classList.add('active');
    const open = el('button', { cls: 'conv-open', type: 'button', attrs: { title: c.title || '' } }, [
      el('span', { cls: 'conv-title', text: c.title || t('untitled') }),
      el('span', { cls: 'conv-date', text: formatDate(c.updated_at || c.created_at) }),
    ]);
    open.addEventListener('click', () => openConversation(c.id));
    const del = el('button', { cls: 'conv-delete icon-btn', type: 'button', text: '✕',
      attrs: { 'data-i18n-title': 'delete', title: t('delete'), 'aria-label': 'delete' } });
    del.addEventListener('click', (ev) => { ev.stopPropagation(); askDeleteConfirm(li, c.id); });
    li.appendChild(open);
    li.appendChild(del);
    return li;
  }

  /** Inline confirmation row (no window.confirm, so it is testable and CSP-friendly). */
  function askDeleteConfirm(li, id) {
    if (li.querySelector('.conv-confirm')) return;
    const yes = el('button', { cls: 'conv-delete-confirm btn btn-danger btn-sm', type: 'button', i18n: 'confirmYes' });
    const no = el('button', { cls: 'conv-delete-cancel btn btn-ghost btn-sm', type: 'button', i18n: 'cancel' });
    const row = el('div', { cls: 'conv-confirm' }, [el('span', { i18n: 'confirmDelete' }), yes, no]);
    yes.addEventListener('click', (ev) => { ev.stopPropagation(); deleteConversation(id); });
    no.addEventListener('click', (ev) => { ev.stopPropagation(); row.remove(); });
    li.appendChild(row);
    yes.focus();
  }

  async function deleteConversation(id) {
    try {
      await api('DELETE', '/api/conversations/' + encodeURIComponent(id));
    } catch (e) {
      if (e.status !== 401) toast(t('deleteFailed') + '：' + e.message);
      return;
    }
    if (state.conversationId === id) newConversation();
    await loadConversations();
  }

  function markActiveConversation() {
    document.querySelectorAll('#conversation-list [data-conversation-id]').forEach((li) => {
      li.classList.toggle('active', li.dataset.conversationId === String(state.conversationId));
    });
  }

  function newConversation() {
    abortStream(true);
    state.loadSeq++;
    state.conversationId = null;
    clearMessages(true);
    markActiveConversation();
    closeSidebar();
    $('question').focus();
  }

  async function openConversation(id) {
    abortStream(true);
    const seq = ++state.loadSeq;
    state.conversationId = id;
    markActiveConversation();
    closeSidebar();
    clearMessages(false);
    try {
      const conv = await api('GET', '/api/conversations/' + encodeURIComponent(id));
      if (seq !== state.loadSeq) return;
      (conv.messages || []).forEach(renderStoredMessage);
      scrollToBottom(true);
    } catch (e) {
      if (seq !== state.loadSeq || e.status === 401) return;
      $('messages').appendChild(el('div', { cls: 'load-error', text: t('loadFailed') + '：' + e.message }));
    }
  }

  // ------------------------------------------------------------ messages ---
  function clearMessages(showEmpty) {
    const box = $('messages');
    const empty = $('empty-state');
    box.textContent = '';
    box.appendChild(empty);
    empty.hidden = !showEmpty;
  }

  function scrollToBottom(force) {
    const box = $('messages');
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    if (force || nearBottom) box.scrollTop = box.scrollHeight;
  }

  function addUserBubble(text) {
    $('empty-state').hidden = true;
    const row = el('div', { cls: 'msg msg-user' }, [el('div', { cls: 'bubble user', text })]);
    $('messages').appendChild(row);
    return row;
  }

  /** Create an (empty) assistant bubble with all its slots. */
  function createAnswerBubble(messageId) {
    $('empty-state').hidden = true;
    const bubble = el('div', { cls: 'bubble answer' }, [
      el('div', { cls: 'answer-head' }),
      el('div', { cls: 'queue-position', hidden: true }),
      el('div', { cls: 'answer-body markdown' }),
      el('div', { cls: 'typing', hidden: true, attrs: { 'aria-hidden': 'true' } }, [el('span'), el('span'), el('span')]),
      el('div', { cls: 'answer-error', hidden: true, attrs: { role: 'alert' } }),
      el('div', { cls: 'warnings', hidden: true }),
      el('div', { cls: 'citations', hidden: true }),
      el('div', { cls: 'answer-footer' }),
    ]);
    if (messageId != null) bubble.dataset.messageId = String(messageId);
    const row = el('div', { cls: 'msg msg-assistant' }, [el('div', { cls: 'avatar', text: '✦', attrs: { 'aria-hidden': 'true' } }), bubble]);
    $('messages').appendChild(row);
    return bubble;
  }

  const part = (bubble, cls) => bubble.querySelector(':scope > .' + cls);

  /** Set the sanitized server-rendered HTML (the only innerHTML use in this file). */
  function setAnswerHtml(bubble, html) {
    const body = part(bubble, 'answer-body');
    body.classList.remove('streaming');
    body.innerHTML = html; // sanitized on the server (ammonia)
    decorateTables(body);
  }

  function setAnswerPlain(bubble, text) {
    const body = part(bubble, 'answer-body');
    body.classList.add('streaming');
    body.textContent = text;
  }

  /** Wrap tables for horizontal scrolling and right-align numeric cells. */
  function decorateTables(root) {
    root.querySelectorAll('table').forEach((table) => {
      if (!table.parentElement.classList.contains('table-wrap')) {
        const wrap = el('div', { cls: 'table-wrap' });
        table.parentNode.insertBefore(wrap, table);
        wrap.appendChild(table);
      }
      table.querySelectorAll('td').forEach((td) => {
        const s = td.textContent.trim();
        if (/^[-+−]?[¥$€₽]?\s?[\d.,\s]*\d[\d.,\s]*(%|‰|万|亿|元|pp)?$/.test(s)) td.classList.add('num');
      });
    });
  }

  function setQueue(bubble, position) {
    const q = part(bubble, 'queue-position');
    if (position == null) { q.hidden = true; return; }
    q.setAttribute('data-i18n', 'queued');
    q.setAttribute('data-i18n-n', String(position));
    q.textContent = t('queued', { n: position });
    q.hidden = false;
  }

  function showAnswerError(bubble, message) {
    const box = part(bubble, 'answer-error');
    box.textContent = '';
    box.appendChild(el('span', { text: '⛔ ' + (message || t('genericError')) }));
    box.hidden = false;
    bubble.classList.add('has-error');
  }

  function renderNeedsReview(bubble, needsReview) {
    const head = part(bubble, 'answer-head');
    head.textContent = '';
    if (needsReview) {
      head.appendChild(el('span', { cls: 'badge needs-review', i18n: 'needsReview',
        attrs: { 'data-i18n-title': 'needsReviewTitle', title: t('needsReviewTitle') } }));
    }
  }

  function renderWarnings(bubble, warnings) {
    const box = part(bubble, 'warnings');
    box.textContent = '';
    const list = (warnings || []).filter((w) => w != null && String(w).trim() !== '');
    list.forEach((w) => box.appendChild(el('div', { cls: 'warning', text: '⚠ ' + w })));
    box.hidden = list.length === 0;
  }

  function renderCitations(bubble, citations) {
    const box = part(bubble, 'citations');
    box.textContent = '';
    const list = citations || [];
    if (list.length) box.appendChild(el('span', { cls: 'citations-label', i18n: 'citationsLabel' }));
    list.forEach((c, i) => {
      const chip = el('button', { cls: 'citation chip', type: 'button', data: { index: String(i + 1) },
        attrs: { title: [c.kb_name || c.kb, c.section].filter(Boolean).join(' · ') } },
      [el('span', { cls: 'citation-num', text: '[' + (i + 1) + ']' }), el('span', { cls: 'citation-name', text: c.title || c.doc || '' })]);
      chip.addEventListener('click', () => openCitation(c));
      box.appendChild(chip);
    });
    box.hidden = list.length === 0;
  }

  /** Footer: stopped note, copy, rating buttons, feedback box. */
  function renderFooter(bubble, opts) {
    const footer = part(bubble, 'answer-footer');
    footer.textContent = '';
    if (opts.stopped) footer.appendChild(el('span', { cls: 'stopped', i18n: 'stopped' }));
    const actions = el('div', { cls: 'answer-actions' });
    const copy = el('button', { cls: 'copy act-btn', type: 'button', i18n: 'copy' });
    copy.addEventListener('click', () => copyAnswer(bubble, copy));
    actions.appendChild(copy);
    if (opts.messageId != null) {
      const up = el('button', { cls: 'rate-up act-btn', type: 'button',
        attrs: { 'data-i18n-title': 'rateUp', title: t('rateUp'), 'aria-label': 'thumbs up' } }, [icon('up')]);
      const down = el('button', { cls: 'rate-down act-btn', type: 'button',
        attrs: { 'data-i18n-title': 'rateDown', title: t('rateDown'), 'aria-label': 'thumbs down' } }, [icon('down')]);
      up.addEventListener('click', () => rate(bubble, opts.messageId, 'up'));
      down.addEventListener('click', () => rate(bubble, opts.messageId, 'down'));
      actions.appendChild(up);
      actions.appendChild(down);
      actions.appendChild(el('span', { cls: 'feedback-note', i18n: 'feedbackDone', hidden: true }));
    }
    footer.appendChild(actions);
    if (opts.rating === 'up' || opts.rating === 'down') showRating(bubble, opts.rating);
  }

  /** Render a finished answer (from the `done` event or a stored message). */
  function finishAnswer(bubble, info) {
    const typing = part(bubble, 'typing');
    typing.hidden = true;
    setQueue(bubble, null);
    bubble.classList.remove('pending');
    if (info.messageId != null) bubble.dataset.messageId = String(info.messageId);
    if (info.html) setAnswerHtml(bubble, info.html);
    else if (!bubble.dataset.rendered && info.markdown != null) setAnswerPlain(bubble, info.markdown);
    if (info.markdown != null) answerText.set(bubble, info.markdown);
    renderNeedsReview(bubble, !!info.needsReview);
    renderWarnings(bubble, info.warnings);
    renderCitations(bubble, info.citations);
    if (info.stopped) bubble.classList.add('is-stopped');
    renderFooter(bubble, { stopped: info.stopped, messageId: info.messageId, rating: info.rating });
  }

  function renderStoredMessage(m) {
    if (m.role === 'user') { addUserBubble(m.content || ''); return; }
    const bubble = createAnswerBubble(m.id);
    const isError = m.status === 'error';
    finishAnswer(bubble, {
      messageId: m.id, html: isError ? '' : m.answer_html, markdown: m.content || '',
      needsReview: m.needs_review, warnings: m.warnings, citations: m.citations,
      stopped: m.status === 'cancelled', rating: m.rating,
    });
    if (isError) { setAnswerPlain(bubble, ''); showAnswerError(bubble, m.content || t('genericError')); }
  }

  // ------------------------------------------------------------ asking ----
  function setStreaming(on) {
    const stop = $('stop');
    stop.hidden = !on;
    stop.disabled = !on;
    $('send').disabled = on;
    document.body.classList.toggle('is-streaming', on);
  }

  /** Send a question and stream the answer into a new bubble. */
  async function ask(question) {
    const q = (question || '').trim();
    if (!q || state.stream) return;
    addUserBubble(q);
    const bubble = createAnswerBubble(null);
    bubble.classList.add('pending');
    part(bubble, 'typing').hidden = false;
    scrollToBottom(true);

    const stream = { controller: new AbortController(), bubble, messageId: null, text: '',
      stopped: false, finished: false, isNew: state.conversationId == null, conversationId: null };
    state.stream = stream;
    setStreaming(true);

    const body = { question: q };
    if (state.conversationId != null) body.conversation_id = state.conversationId;
    try {
      const res = await fetch('/api/ask', {
        method: 'POST', credentials: 'same-origin', signal: stream.controller.signal,
        headers: Object.assign(jsonHeaders(), { Accept: 'text/event-stream' }),
        body: JSON.stringify(body),
      });
      if (!res.ok) {
        const err = await errorFromResponse(res);
        if (res.status === 401) { endStream(stream); sessionExpired(); return; }
        showAnswerError(bubble, err.message);
        finishFailed(stream);
      } else {
        await readSse(res, (name, data) => handleAskEvent(stream, name, data));
        if (!stream.finished && !stream.stopped) {
          showAnswerError(bubble, t('streamInterrupted'));
          finishFailed(stream);
        }
      }
    } catch (e) {
      if (!stream.stopped && !stream.finished) {
        showAnswerError(bubble, e && e.name === 'AbortError' ? t('stopped') : t('networkError'));
        finishFailed(stream);
      }
    } finally {
      endStream(stream);
    }
    if (stream.isNew && stream.conversationId != null && state.me) loadConversations();
  }

  function endStream(stream) {
    if (state.stream === stream) { state.stream = null; setStreaming(false); }
  }

  /** Finish a bubble that ended with an error: keep partial text, offer copy. */
  function finishFailed(stream) {
    if (stream.finished) return;
    stream.finished = true;
    finishAnswer(stream.bubble, { messageId: stream.messageId, markdown: stream.text, stopped: false });
  }

  function handleAskEvent(stream, name, data) {
    // A late `rendered` may still upgrade a finished answer; everything else stops at the end.
    if (stream.stopped || (stream.finished && name !== 'rendered')) return;
    data = data == null ? {} : data;
    const bubble = stream.bubble;
    switch (name) {
      case 'meta':
        if (data.message_id != null) { stream.messageId = data.message_id; bubble.dataset.messageId = String(data.message_id); }
        if (data.conversation_id != null) {
          stream.conversationId = data.conversation_id;
          state.conversationId = data.conversation_id;
          markActiveConversation();
        }
        break;
      case 'queued':
        setQueue(bubble, data && data.position != null ? data.position : '?');
        break;
      case 'token':
        setQueue(bubble, null);
        stream.text += (data && data.text) || '';
        setAnswerPlain(bubble, stream.text);
        scrollToBottom(false);
        break;
      case 'citations':
        stream.citations = Array.isArray(data) ? data : (data && data.citations) || [];
        renderCitations(bubble, stream.citations);
        break;
      case 'rendered':
        if (data && typeof data.html === 'string') { setAnswerHtml(bubble, data.html); bubble.dataset.rendered = '1'; }
        break;
      case 'done':
        stream.finished = true;
        if (data.conversation_id != null) state.conversationId = data.conversation_id;
        finishAnswer(bubble, {
          messageId: data.message_id != null ? data.message_id : stream.messageId,
          markdown: data.answer != null ? data.answer : stream.text,
          needsReview: data.needs_review, warnings: data.warnings,
          citations: data.citations || stream.citations, stopped: !!data.cancelled,
        });
        scrollToBottom(false);
        break;
      case 'error': {
        const err = (data && data.error) || data || {};
        showAnswerError(bubble, typeof err === 'string' ? err : err.message);
        finishFailed(stream);
        break;
      }
      default:
        break; // unknown events are ignored
    }
  }

  /** Stop button: tell the server, abort the fetch, keep the partial text. */
  function stopAnswer() {
    const stream = state.stream;
    if (!stream || stream.stopped || stream.finished) return;
    stream.stopped = true;
    if (stream.messageId != null) {
      api('POST', '/api/ask/' + encodeURIComponent(stream.messageId) + '/cancel', {}).catch(() => {});
    }
    stream.controller.abort();
    finishAnswer(stream.bubble, { messageId: stream.messageId, markdown: stream.text,
      citations: stream.citations, stopped: true });
    endStream(stream);
  }

  /** Abort any running stream (e.g. when switching conversations or logging out). */
  function abortStream(cancelOnServer) {
    const stream = state.stream;
    if (!stream) return;
    if (cancelOnServer) { stopAnswer(); return; }
    stream.stopped = true;
    stream.controller.abort();
    endStream(stream);
  }

  // ------------------------------------------------- copy and feedback ----
  async function copyAnswer(bubble, btn) {
    const text = answerText.get(bubble) || part(bubble, 'answer-body').innerText || '';
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); ok = true; }
    } catch (_) { ok = false; }
    if (!ok) ok = legacyCopy(text);
    btn.textContent = t(ok ? 'copied' : 'copyFailed');
    btn.classList.toggle('done', ok);
    setTimeout(() => { btn.textContent = t('copy'); btn.classList.remove('done'); }, 1600);
  }

  /** Fallback for plain-http intranet pages where navigator.clipboard is unavailable. */
  function legacyCopy(text) {
    const ta = el('textarea', { cls: 'offscreen', attrs: { readonly: '' } });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
    ta.remove();
    return ok;
  }

  function showRating(bubble, rating) {
    const footer = part(bubble, 'answer-footer');
    const up = footer.querySelector('.rate-up');
    const down = footer.querySelector('.rate-down');
    if (up) up.classList.toggle('selected', rating === 'up');
    if (down) down.classList.toggle('selected', rating === 'down');
    const note = footer.querySelector('.feedback-note');
    if (note) note.hidden = !rating;
  }

  function sendFeedback(messageId, rating, comment) {
    const body = { message_id: messageId, rating };
    if (comment) body.comment = comment;
    return api('POST', '/api/feedback', body);
  }

  /** Thumb click: record the rating at once, then offer an optional comment box. */
  async function rate(bubble, messageId, rating) {
    showRating(bubble, rating);
    openFeedbackBox(bubble, messageId, rating);
    try { await sendFeedback(messageId, rating, ''); } catch (e) {
      if (e.status !== 401) toast(t('feedbackFailed') + '：' + e.message);
    }
  }

  function openFeedbackBox(bubble, messageId, rating) {
    const footer = part(bubble, 'answer-footer');
    let box = footer.querySelector('.feedback-box');
    if (!box) {
      const input = el('textarea', { cls: 'feedback-comment', attrs: { rows: '2', maxlength: '2000',
        'data-i18n-placeholder': 'feedbackPlaceholder', placeholder: t('feedbackPlaceholder') } });
      const submit = el('button', { cls: 'feedback-submit btn btn-primary btn-sm', type: 'button', i18n: 'feedbackSubmit' });
      box = el('div', { cls: 'feedback-box' }, [input, submit]);
      submit.addEventListener('click', () => submitComment(bubble, box));
      footer.appendChild(box);
    }
    box.dataset.messageId = String(messageId);
    box.dataset.rating = rating;
    box.querySelector('.feedback-comment').focus();
  }

  async function submitComment(bubble, box) {
    const input = box.querySelector('.feedback-comment');
    const submit = box.querySelector('.feedback-submit');
    submit.disabled = true;
    try {
      await sendFeedback(Number(box.dataset.messageId), box.dataset.rating, input.value.trim());
      box.remove();
      showRating(bubble, box.dataset.rating);
    } catch (e) {
      submit.disabled = false;
      if (e.status !== 401) toast(t('feedbackFailed') + '：' + e.message);
    }
  }

  // ------------------------------------------------------ citation panel ---
  function openCitation(c) {
    $('citation-title').textContent = c.title || c.doc || '—';
    $('citation-kb').textContent = c.kb_name ? c.kb_name + (c.kb ? ' (' + c.kb + ')' : '') : (c.kb || '—');
    $('citation-section').textContent = c.section || '—';
    const sens = $('citation-sensitivity');
    sens.dataset.raw = c.sensitivity || '';
    sens.textContent = sensitivityLabel(c.sensitivity);
    $('citation-doc').textContent = c.doc || '—';
    $('citation-snippet').textContent = c.snippet || '';
    $('citation-panel').hidden = false;
    $('citation-backdrop').hidden = false;
    $('citation-close').focus();
  }

  function closeCitation() {
    $('citation-panel').hidden = true;
    $('citation-backdrop').hidden = true;
  }

  // -------------------------------------------------------------- wiring ---
  function closeSidebar() { document.body.classList.remove('sidebar-open'); }

  function autosize() {
    const q = $('question');
    q.style.height = 'auto';
    q.style.height = Math.min(q.scrollHeight, 200) + 'px';
  }

  function submitQuestion() {
    const q = $('question');
    const text = q.value.trim();
    if (!text || state.stream) return;
    q.value = '';
    autosize();
    ask(text);
  }

  function wire() {
    $('login-form').addEventListener('submit', onLoginSubmit);
    $('logout').addEventListener('click', logout);
    document.querySelectorAll('[data-lang-toggle]').forEach((b) => {
      b.addEventListener('click', () => setLang(lang === 'zh' ? 'en' : 'zh'));
    });
    $('new-conversation').addEventListener('click', newConversation);
    $('composer').addEventListener('submit', (ev) => { ev.preventDefault(); submitQuestion(); });
    $('question').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
        ev.preventDefault();
        submitQuestion();
      }
    });
    $('question').addEventListener('input', autosize);
    $('stop').addEventListener('click', stopAnswer);
    document.querySelectorAll('#examples .example').forEach((chip) => {
      chip.addEventListener('click', () => { if (!state.stream) ask(chip.textContent); });
    });
    $('citation-close').addEventListener('click', closeCitation);
    $('citation-backdrop').addEventListener('click', closeCitation);
    document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeCitation(); });
    $('sidebar-toggle').addEventListener('click', () => document.body.classList.toggle('sidebar-open'));
    $('sidebar-backdrop').addEventListener('click', closeSidebar);
  }

  async function init() {
    wire();
    setLang(lang);
    try {
      const me = await api('GET', '/api/me');
      await enterApp(me);
    } catch (e) {
      showLogin(e.status === 401 ? '' : e.message);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
