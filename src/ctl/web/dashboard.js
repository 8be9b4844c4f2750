// The live dashboard: replaces the server-rendered table (which stays the page without
// JavaScript) with a view polled from /api/status while the page is visible. Sparklines keep
// their history here, in the page; the daemon keeps none.
(function () {
  'use strict';
  var POLL_MS = 500, HISTORY = 360, MAX_LOG_LINES = 2000;
  var STATE_CLASS = {RUNNING: 's-ok', STARTING: 's-warn', STOPPING: 's-warn', BACKOFF: 's-warn',
    FATAL: 's-bad', EXITED: 's-bad', UNKNOWN: 's-bad', STOPPED: 's-idle'};
  var UP = {RUNNING: 1, STARTING: 1, BACKOFF: 1};
  var wrapper = document.getElementById('wrapper');
  if (!wrapper || !window.fetch) return;
  var footer = document.getElementById('footer');
  if (footer) footer.remove();
  wrapper.innerHTML =
    '<header class="bar"><h1>Supervisor</h1><span class="ident" id="ident"></span>' +
    '<span class="badge" id="svstate"></span><span class="spacer"></span>' +
    '<span id="summary"></span><span id="conn"></span></header>' +
    '<div class="tools"><input id="filter" type="search" placeholder="Filter by name">' +
    '<select id="statefilter"><option value="all">All states</option>' +
    '<option value="up">Running / starting</option><option value="stopped">Stopped</option>' +
    '<option value="problem">Problems (fatal, exited, backoff)</option></select>' +
    '<span class="spacer"></span><button id="restartall">Restart all</button>' +
    '<button id="stopall" class="danger">Stop all</button></div>' +
    '<div id="msg"></div>' +
    '<div class="card"><table class="procs"><thead><tr><th>Name</th><th>State</th>' +
    '<th>Description</th><th>CPU</th><th>Memory</th><th>Actions</th></tr></thead>' +
    '<tbody id="rows"></tbody></table></div>' +
    '<section id="log" class="card" hidden><div class="logbar"><b id="logtitle"></b>' +
    '<select id="logchan"><option>stdout</option><option>stderr</option></select>' +
    '<button id="logpause">Pause</button><input id="logsearch" type="search" placeholder="Search log">' +
    '<span id="logstate"></span><span class="spacer" style="flex:1"></span>' +
    '<button id="logclear">Clear view</button><button id="logclose">Close</button></div>' +
    '<pre id="logtext"></pre></section>' +
    '<footer>Live view, refreshed every ' + POLL_MS + ' ms while visible. ' +
    '<a href="metrics">Metrics</a></footer>';
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  var history = {}, rowsByName = {}, groupRows = {}, last = null, timer = null;
  var collapsed = {};
  try { collapsed = JSON.parse(localStorage.getItem('sv.collapsed') || '{}'); } catch (e) {}

  function bytes(n) {
    if (n == null || n < 0) return '\u2013';
    var u = ['B', 'K', 'M', 'G', 'T'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + u[i];
  }
  function spark(cls, values, max) {
    var w = 90, h = 22, n = values.length;
    var svg = '<svg class="spark ' + cls + '" viewBox="0 0 ' + w + ' ' + h + '">';
    if (n > 1) {
      var pts = values.map(function (v, i) {
        var x = w - (n - 1 - i) * (w / Math.max(n - 1, 40));
        var y = h - 1 - (max > 0 ? v / max : 0) * (h - 2);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      var firstX = pts[0].split(',')[0];
      svg += '<polygon class="fill" points="' + firstX + ',' + h + ' ' + pts.join(' ') + ' ' + w + ',' + h + '"/>';
      svg += '<polyline points="' + pts.join(' ') + '"/>';
    }
    return svg + '</svg>';
  }
  function remember(p) {
    var h = history[p.namespec] || (history[p.namespec] = {cpu: [], mem: []});
    h.cpu.push(p.pid ? p.cpu_percent : 0);
    h.mem.push(p.pid ? p.rss : 0);
    if (h.cpu.length > HISTORY) { h.cpu.shift(); h.mem.shift(); }
    return h;
  }
  function matches(p) {
    var f = $('filter').value.trim().toLowerCase();
    if (f && p.namespec.toLowerCase().indexOf(f) < 0) return false;
    var s = $('statefilter').value, st = p.statename;
    if (s === 'up') return !!UP[st];
    if (s === 'stopped') return st === 'STOPPED';
    if (s === 'problem') return st === 'FATAL' || st === 'EXITED' || st === 'BACKOFF' || st === 'UNKNOWN';
    return true;
  }
  function actionButtons(p) {
    var names = UP[p.statename] ? ['stop', 'restart', 'signal'] :
      (p.statename === 'STOPPING' ? ['signal'] : ['start']);
    names = names.concat(['clearlog', 'log']);
    var labels = {start: 'Start', stop: 'Stop', restart: 'Restart', signal: 'Signal\u2026',
      clearlog: 'Clear log', log: 'Log'};
    return names.map(function (a) {
      return '<button data-action="' + a + '">' + labels[a] + '</button>';
    }).join('');
  }
  function makeRow(p) {
    var tr = el('tr', p.group === p.name ? 'proc' : 'proc member');
    tr.dataset.name = p.namespec;
    tr.innerHTML = '<td class="name"></td><td><span class="badge state"></span><span class="health"></span></td>' +
      '<td class="desc"></td><td><div class="metric"><span class="num cpuv"></span><span class="cpus"></span></div></td>' +
      '<td><div class="metric"><span class="num memv"></span><span class="mems"></span></div></td><td class="actions"></td>';
    tr.querySelector('.name').textContent = p.group === p.name ? p.name : p.name;
    tr.querySelector('.name').title = p.namespec;
    return tr;
  }
  function updateRow(tr, p, h) {
    var badge = tr.querySelector('.state');
    badge.textContent = p.statename;
    badge.className = 'badge state ' + (STATE_CLASS[p.statename] || 's-idle');
    tr.querySelector('.health').textContent = p.health ? p.health : '';
    tr.querySelector('.desc').textContent = p.description;
    tr.querySelector('.cpuv').textContent = p.pid ? p.cpu_percent.toFixed(1) + '%' : '\u2013';
    tr.querySelector('.memv').textContent = p.pid ? bytes(p.rss) : '\u2013';
    tr.querySelector('.memv').title = p.pid ? 'RSS ' + bytes(p.rss) + ', PSS ' + bytes(p.pss) +
      ', ' + p.processes + ' process(es), ' + p.threads + ' threads, ' + p.fds + ' fds' : '';
    tr.querySelector('.cpus').innerHTML = spark('cpu', h.cpu, Math.max(100, Math.max.apply(null, h.cpu)));
    tr.querySelector('.mems').innerHTML = spark('mem', h.mem, Math.max.apply(null, h.mem) * 1.1);
    if (tr.dataset.state !== p.statename) {
      tr.dataset.state = p.statename;
      tr.querySelector('.actions').innerHTML = actionButtons(p);
    }
  }
  function groupRow(g) {
    var tr = groupRows[g];
    if (!tr) {
      tr = groupRows[g] = el('tr', 'group');
      tr.dataset.group = g;
      tr.innerHTML = '<td colspan="6"><span class="caret"></span><span class="gname"></span><span class="counts"></span></td>';
      tr.querySelector('.gname').textContent = g;
      tr.addEventListener('click', function () {
        collapsed[g] = !collapsed[g];
        try { localStorage.setItem('sv.collapsed', JSON.stringify(collapsed)); } catch (e) {}
        render();
      });
    }
    tr.querySelector('.caret').textContent = collapsed[g] ? '\u25b8' : '\u25be';
    return tr;
  }
  function render() {
    if (!last) return;
    var body = $('rows'), order = [], seen = {}, counts = {};
    var procs = last.processes, running = 0;
    procs.forEach(function (p) {
      if (p.statename === 'RUNNING') running++;
      var c = counts[p.group] || (counts[p.group] = {n: 0, up: 0, shown: 0});
      c.n++; if (p.statename === 'RUNNING') c.up++;
      if (matches(p)) c.shown++;
    });
    procs.forEach(function (p) {
      var h = history[p.namespec] || {cpu: [], mem: []};
      var grouped = p.group !== p.name;
      if (grouped && !seen['g:' + p.group]) {
        seen['g:' + p.group] = 1;
        if (counts[p.group].shown) {
          var g = groupRow(p.group);
          g.querySelector('.counts').textContent = counts[p.group].up + ' of ' + counts[p.group].n + ' running';
          order.push(g);
        }
      }
      var tr = rowsByName[p.namespec] || (rowsByName[p.namespec] = makeRow(p));
      seen[p.namespec] = 1;
      updateRow(tr, p, h);
      if (matches(p) && !(grouped && collapsed[p.group])) order.push(tr);
    });
    Object.keys(rowsByName).forEach(function (n) { if (!seen[n]) delete rowsByName[n]; });
    // Re-append only when the order changed, so a button under the pointer is never replaced.
    var current = Array.prototype.slice.call(body.children);
    var same = current.length === order.length && current.every(function (e, i) { return e === order[i]; });
    if (!same) { body.textContent = ''; order.forEach(function (e) { body.appendChild(e); }); }
    if (!order.length) {
      body.innerHTML = '<tr><td colspan="6" class="desc">' + (procs.length ? 'No process matches the filter' : 'No programs to manage') + '</td></tr>';
    }
    $('summary').textContent = procs.length + ' processes, ' + running + ' running';
    $('ident').textContent = last.identification + ' \u00b7 pid ' + last.pid;
    var sv = $('svstate');
    sv.textContent = last.statename;
    sv.className = 'badge ' + (last.statename === 'RUNNING' ? 's-ok' : 's-warn');
  }
  function poll() {
    clearTimeout(timer);
    if (document.hidden) return;
    fetch('api/status', {cache: 'no-store'}).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (data) {
      last = data;
      data.processes.forEach(remember);
      $('conn').textContent = '';
      $('conn').className = '';
      render();
      timer = setTimeout(poll, POLL_MS);
    }).catch(function (e) {
      $('conn').textContent = 'disconnected (' + e.message + '), retrying';
      $('conn').className = 'down';
      timer = setTimeout(poll, 2000);
    });
  }
  document.addEventListener('visibilitychange', function () { if (!document.hidden) poll(); });
  function say(text, ok) {
    var m = $('msg');
    m.textContent = text;
    m.className = 'show' + (ok ? '' : ' err');
  }
  function act(action, name, extra) {
    var q = 'api/action?action=' + encodeURIComponent(action) + '&name=' + encodeURIComponent(name || '') + (extra || '');
    return fetch(q, {method: 'POST', headers: {'X-Supervisor-Action': '1'}})
      .then(function (r) { return r.json(); })
      .then(function (res) { say(res.message, res.ok); poll(); })
      .catch(function (e) { say('Request failed: ' + e.message, false); });
  }
  $('rows').addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-action]');
    if (!b) return;
    var name = b.closest('tr').dataset.name, a = b.dataset.action;
    if (a === 'log') return openLog(name, 'stdout');
    if (a === 'signal') {
      var sig = window.prompt('Signal to send to ' + name + ' (name or number):', 'HUP');
      if (sig) act('signal', name, '&signal=' + encodeURIComponent(sig.trim()));
      return;
    }
    b.disabled = true;
    act(a, name);
  });
  $('stopall').addEventListener('click', function () {
    if (window.confirm('Stop all processes?')) act('stopall', '');
  });
  $('restartall').addEventListener('click', function () {
    if (window.confirm('Restart all processes?')) act('restartall', '');
  });
  $('filter').addEventListener('input', render);
  $('statefilter').addEventListener('change', render);

  // The log viewer: follows /logtail/NAME/CHANNEL (last 1 KB, then every new line) like tail -f.
  var log = {name: null, ctrl: null, lines: [], partial: '', paused: false};
  function logRender() {
    var q = $('logsearch').value, shown = log.lines, pre = $('logtext');
    var esc = function (s) { return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); };
    if (q) {
      var lq = q.toLowerCase();
      shown = shown.filter(function (l) { return l.toLowerCase().indexOf(lq) >= 0; });
      var re = new RegExp(q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
      pre.innerHTML = shown.map(function (l) {
        return esc(l).replace(re, function (m) { return '<mark>' + m + '</mark>'; });
      }).join('\n');
    } else {
      pre.textContent = shown.join('\n');
    }
    $('logstate').textContent = (log.paused ? 'paused \u00b7 ' : 'following \u00b7 ') +
      (q ? shown.length + ' of ' : '') + log.lines.length + ' lines';
    if (!log.paused) pre.scrollTop = pre.scrollHeight;
  }
  function logAppend(text) {
    var parts = (log.partial + text).split('\n');
    log.partial = parts.pop();
    Array.prototype.push.apply(log.lines, parts);
    if (log.lines.length > MAX_LOG_LINES) log.lines.splice(0, log.lines.length - MAX_LOG_LINES);
    if (!log.paused) logRender();
  }
  function openLog(name, channel) {
    if (log.ctrl) log.ctrl.abort();
    var ctrl = new AbortController();
    log = {name: name, ctrl: ctrl, lines: [], partial: '', paused: false};
    $('log').hidden = false;
    $('logtitle').textContent = name;
    $('logchan').value = channel;
    $('logpause').textContent = 'Pause';
    $('logtext').textContent = '';
    var path = 'logtail/' + encodeURIComponent(name).replace(/%3A/g, ':') + '/' + channel;
    fetch(path, {signal: ctrl.signal, cache: 'no-store'}).then(function (r) {
      if (!r.ok) { $('logtext').textContent = 'No ' + channel + ' log file for ' + name + ' (HTTP ' + r.status + ')'; return; }
      var reader = r.body.getReader(), dec = new TextDecoder();
      logRender();
      function next() {
        return reader.read().then(function (c) {
          if (c.done) { $('logstate').textContent = 'stream ended'; return; }
          if (log.ctrl === ctrl) logAppend(dec.decode(c.value, {stream: true}));
          return next();
        });
      }
      return next();
    }).catch(function (e) { if (e.name !== 'AbortError') $('logstate').textContent = 'stream ended: ' + e.message; });
    $('log').scrollIntoView({block: 'nearest'});
  }
  $('logchan').addEventListener('change', function () { if (log.name) openLog(log.name, $('logchan').value); });
  $('logpause').addEventListener('click', function () {
    log.paused = !log.paused;
    $('logpause').textContent = log.paused ? 'Resume' : 'Pause';
    logRender();
  });
  $('logsearch').addEventListener('input', logRender);
  $('logclear').addEventListener('click', function () { log.lines = []; logRender(); });
  $('logclose').addEventListener('click', function () {
    if (log.ctrl) log.ctrl.abort();
    log = {name: null, ctrl: null, lines: [], partial: '', paused: false};
    $('log').hidden = true;
  });
  poll();
})();
