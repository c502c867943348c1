// The phone remote: signs in with a JWT, shows what the car plays, sends it commands.
// Talks to the backend over Socket.IO only (the page's own origin); see docs/backend.md.
'use strict';
(() => {
  const TOKEN_KEY = 'headunit.token';
  const SKIP_SECONDS = 10;
  const $ = (id) => document.getElementById(id);

  let token = null;
  let socket = null;
  let state = null; // the last playback_state
  let receivedAt = 0; // performance.now() when it arrived: the progress runs on from there
  let car = null; // {online, since} from headunit_car
  let backendDownSince = null;
  let dragging = false;
  // An older state (by updatedAt) from the same car arriving this soon after a newer one
  // was overtaken on the way: a new socket's greeting (the backend's cached state) can
  // come after a newer relay when several backend processes share the car. Dropped;
  // later than that, any state counts (the car's clock may have been set back).
  const OVERTAKEN_MS = 2000;
  let artId = null;

  // -- sign in --------------------------------------------------------------------------
  function fragmentToken() {
    const match = location.hash.match(/(?:^#|&)token=([^&]+)/);
    if (!match) return null;
    // Out of the address bar (and so out of history, bookmarks and screenshots) at once.
    history.replaceState(null, '', location.pathname + location.search);
    return decodeURIComponent(match[1]);
  }

  function claims(jwt) {
    try {
      const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part));
    } catch (e) {
      return null;
    }
  }

  // A token the page can tell is unusable, said in words; the backend checks the rest.
  function tokenProblem(jwt) {
    const body = claims(jwt);
    if (!body || typeof body.userId !== 'number') return 'This is not a valid token.';
    if (typeof body.exp === 'number' && body.exp * 1000 <= Date.now()) {
      return `This token expired on ${new Date(body.exp * 1000).toLocaleString()}. Ask for a new one.`;
    }
    return null;
  }

  function showSignIn(message) {
    $('player').hidden = true;
    $('signin').hidden = false;
    $('signin-error').textContent = message || '';
  }

  function signIn(jwt) {
    const problem = tokenProblem(jwt);
    if (problem) {
      signOut(problem);
      return;
    }
    token = jwt;
    localStorage.setItem(TOKEN_KEY, jwt);
    $('signin').hidden = true;
    $('player').hidden = false;
    connect();
  }

  function signOut(message) {
    token = null;
    localStorage.removeItem(TOKEN_KEY);
    if (socket) socket.disconnect();
    socket = null;
    showSignIn(message);
  }

  // -- the connection -------------------------------------------------------------------
  function connect() {
    if (socket) socket.disconnect();
    // Websocket only: no long-polling URLs, and no sticky sessions behind several processes.
    socket = io({ auth: { token }, transports: ['websocket'], reconnectionDelayMax: 4000 });
    socket.on('connect', () => {
      backendDownSince = null;
      renderStatus();
    });
    socket.on('disconnect', (reason) => {
      backendDownSince = backendDownSince || Date.now();
      renderStatus();
      if (reason === 'io server disconnect') {
        // The backend hung up on purpose: an expired token, or a refusal.
        const problem = tokenProblem(token);
        if (problem) signOut(problem);
        else socket.connect();
      }
    });
    socket.on('connect_error', (err) => {
      if (!socket.active) {
        signOut(`The backend refused this token: ${err.message}`);
        return;
      }
      backendDownSince = backendDownSince || Date.now();
      renderStatus();
    });
    socket.on('error', (data) => console.warn('backend:', data && data.message));
    socket.on('playback_state', showState);
    socket.on('headunit_queue', showQueue);
    socket.on('headunit_library', showLibrary);
    socket.on('headunit_car', (presence) => {
      car = presence;
      renderStatus();
    });
  }

  // Back from sleep or on another network: reconnect, or read the state again.
  function refresh() {
    if (!token || !socket || document.visibilityState !== 'visible') return;
    if (!socket.connected) {
      if (!socket.active) socket.connect(); // else it is already retrying
      return;
    }
    fetch('/api/carplay/now-playing', {
      headers: { Authorization: `Bearer ${token}` },
      cache: 'no-store',
    })
      .then((response) => (response.ok ? response.json() : null))
      .then((latest) => latest && showState(latest))
      .catch(() => {});
  }

  function send(command, value = null) {
    if (socket && socket.connected) socket.emit('carplay_command', { command, value });
  }

  function select(kind, id) {
    if (socket && socket.connected) socket.emit('headunit_select', { kind, id });
  }

  // -- showing --------------------------------------------------------------------------
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function renderStatus() {
    const status = $('status');
    let text;
    let online = false;
    if (!socket || !socket.connected) {
      text = `Backend offline since ${clock(backendDownSince || Date.now())}`;
    } else if (car && car.online) {
      text = 'Car online';
      online = true;
    } else {
      text = car ? `Car offline since ${clock(car.since)}` : 'Car offline';
    }
    status.textContent = text;
    status.classList.toggle('online', online);
  }

  function duration() {
    return state ? state.duration || 0 : 0;
  }

  function position() {
    if (!state) return 0;
    let seconds = state.currentTime || 0;
    if (state.isPlaying) seconds += (performance.now() - receivedAt) / 1000;
    return duration() > 0 ? Math.min(seconds, duration()) : seconds;
  }

  function time(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, '0');
    return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
  }

  function overtaken(latest) {
    return state !== null && latest.deviceName === state.deviceName
      && latest.updatedAt < state.updatedAt && performance.now() - receivedAt < OVERTAKEN_MS;
  }

  function showState(latest) {
    if (overtaken(latest)) return;
    state = latest;
    receivedAt = performance.now();
    $('title').textContent = latest.mediaTitle || (latest.mediaId == null ? 'Nothing playing' : `Media ${latest.mediaId}`);
    $('artist').textContent = latest.mediaArtist || '';
    $('album').textContent = latest.mediaAlbum || '';
    // Another player is the car's source (the driver's phone over Bluetooth): say which.
    const source = latest.source && latest.source !== 'headunit' ? latest.source : '';
    $('source').textContent = source;
    $('source').hidden = !source;
    const toggle = $('toggle');
    toggle.setAttribute('aria-label', latest.isPlaying ? 'Pause' : 'Play');
    toggle.classList.toggle('playing', latest.isPlaying);
    $('position').max = String(Math.round(duration()));
    $('duration').textContent = time(duration());
    showArt(latest.artId || null);
    tick();
  }

  function tick() {
    const seconds = position();
    if (!dragging) {
      $('position').value = String(Math.round(seconds));
      $('elapsed').textContent = time(seconds);
    }
  }

  // The picture comes with the token in a header, never in its URL, and is shown as a blob.
  function showArt(id) {
    if (id === artId) return;
    artId = id;
    const img = $('art');
    if (!id) {
      img.hidden = true;
      return;
    }
    fetch(`/api/headunit/art/${id}`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' })
      .then((response) => (response.ok ? response.blob() : null))
      .then((blob) => {
        if (!blob || id !== artId) return;
        if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
        img.src = URL.createObjectURL(blob);
        img.hidden = false;
      })
      .catch(() => {});
  }

  function fill(list, items, label, onTap) {
    const rows = items.map((item) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = item.title;
      const sub = label(item);
      if (sub) {
        const span = document.createElement('span');
        span.className = 'sub';
        span.setAttribute('aria-hidden', 'true'); // the button is named by its title
        span.textContent = sub;
        button.append(span);
      }
      button.addEventListener('click', () => onTap(item));
      li.append(button);
      return li;
    });
    list.replaceChildren(...rows);
  }

  function showQueue(queue) {
    fill($('upnext'), queue.entries || [], (entry) => entry.artist, (entry) => select('queue', entry.id));
  }

  function showLibrary(library) {
    fill($('library'), library.items || [], (item) => item.kind, (item) => select('library', item.id));
  }

  // -- controls -------------------------------------------------------------------------
  function wire() {
    $('signin-form').addEventListener('submit', (event) => {
      event.preventDefault();
      signIn($('token-input').value.trim());
      $('token-input').value = '';
    });
    $('signout').addEventListener('click', () => signOut(''));
    $('toggle').addEventListener('click', () => send(state && state.isPlaying ? 'pause' : 'play'));
    $('previous').addEventListener('click', () => send('previous'));
    $('next').addEventListener('click', () => send('next'));
    $('back').addEventListener('click', () => send('seek', Math.max(0, position() - SKIP_SECONDS)));
    $('forward').addEventListener('click', () => {
      const target = position() + SKIP_SECONDS;
      send('seek', duration() > 0 ? Math.min(duration(), target) : target);
    });
    const slider = $('position');
    slider.addEventListener('input', () => {
      dragging = true;
      $('elapsed').textContent = time(Number(slider.value));
    });
    // Seek on release only: a drag is one command, not fifty.
    slider.addEventListener('change', () => {
      dragging = false;
      send('seek', Number(slider.value));
    });
    document.addEventListener('visibilitychange', refresh);
    window.addEventListener('online', refresh);
    window.addEventListener('pageshow', refresh);
    setInterval(tick, 250);
    setInterval(renderStatus, 30000); // "since" stays right across midnight and sleeps
  }

  function start() {
    wire();
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(() => {});
    const jwt = fragmentToken() || localStorage.getItem(TOKEN_KEY);
    if (jwt) signIn(jwt);
    else showSignIn('');
  }

  start();
})();
