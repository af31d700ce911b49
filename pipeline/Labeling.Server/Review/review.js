// The review page: images with their boxes drawn over them, filtered like `labeling query`.
// Plain browser JavaScript, no build and no dependencies. Every piece of data reaches the DOM
// through textContent or setAttribute, never as HTML.
(() => {
  'use strict';

  const FILTERS = ['dataset', 'class', 'minScore', 'source', 'model'];
  const PAGE_SIZE = 24;
  const PROGRESS_EVERY_MS = 3000;
  const SOURCES = ['pseudo', 'weak', 'human', 'discovered'];

  const $ = (selector, root = document) => root.querySelector(selector);
  const form = $('[data-testid="filters"]');
  const grid = $('[data-testid="review-grid"]');
  const summary = $('[data-testid="review-summary"]');
  const errorBox = $('[data-testid="review-error"]');
  const empty = $('[data-testid="review-empty"]');
  const loadMore = $('[data-testid="review-load-more"]');
  const refresh = $('[data-testid="review-refresh"]');
  const viewer = $('[data-testid="review-modal"]');
  const numberFormat = new Intl.NumberFormat('en-US');

  const state = {
    filters: {},
    images: [],
    after: null,
    request: null,
    generation: 0,
    boxesAtLoad: null,
    lastProgress: null,
    models: new Map(),
    classes: new Set(),
    viewerIndex: -1,
    details: new Map(),
    detailsLoaded: new Map(),
  };

  // ---- small helpers -------------------------------------------------------------------------

  /** Creates an element; attrs are set with setAttribute (class via className), children are nodes or text. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'className') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** GET a JSON resource; a failure throws an Error carrying the ProblemDetails detail when there is one. */
  async function getJson(url, signal) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: 'application/json' }, signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new Error('the server did not answer (' + e.message + ')');
    }
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`.trim();
      try {
        const problem = await response.json();
        detail = problem.detail || problem.title || detail;
      } catch { /* not JSON: keep the status line */ }
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  function debounce(fn, ms) {
    let timer = 0;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  // Distinct colours that read on dark images and carry black label text.
  const PALETTE = ['#4cc9f0', '#ff8c42', '#b5e48c', '#ffd166', '#f72585', '#9b5de5', '#00f5d4', '#ff595e',
    '#8ac926', '#5e9bff', '#f15bb5', '#fee440', '#2ec4b6', '#e76f51', '#c77dff', '#90be6d'];

  /** A stable colour per class name: its FNV-1a hash picks from the palette. */
  function classColour(name) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) {
      hash ^= name.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return PALETTE[hash % PALETTE.length];
  }

  const formatScore = (score) => (score === null || score === undefined ? '' : Number(score).toFixed(2));
  const fileName = (path) => path.slice(path.lastIndexOf('/') + 1);
  const folderOf = (path) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
  const plural = (n, one, many = one + 's') => `${numberFormat.format(n)} ${n === 1 ? one : many}`;
  const sourceName = (source) => String(source ?? '').toLowerCase();

  // ---- filters and the URL -------------------------------------------------------------------

  function filtersFromUrl() {
    const params = new URLSearchParams(location.search);
    const filters = {};
    for (const key of FILTERS) {
      const value = (params.get(key) ?? '').trim();
      if (value !== '') filters[key] = value;
    }
    return filters;
  }

  function filtersFromForm() {
    const filters = {};
    for (const key of FILTERS) {
      const value = (form.elements[key].value ?? '').trim();
      if (value !== '') filters[key] = value;
    }
    if (filters.minScore !== undefined && Number(filters.minScore) === 0) delete filters.minScore;
    return filters;
  }

  /** Makes sure a select can show value (a shared link may name a dataset or model not listed yet). */
  function ensureOption(select, value, label = value) {
    if (value === '' || [...select.options].some((o) => o.value === value)) return;
    select.append(el('option', { value }, label));
  }

  function setForm(filters) {
    for (const key of ['dataset', 'source', 'model']) {
      ensureOption(form.elements[key], filters[key] ?? '');
      form.elements[key].value = filters[key] ?? '';
    }
    form.elements.class.value = filters.class ?? '';
    form.elements.minScore.value = filters.minScore ?? '';
    form.elements.minScoreRange.value = filters.minScore ?? '0';
    for (const key of FILTERS) form.elements[key].removeAttribute('aria-invalid');
  }

  function queryString(filters, extra = {}) {
    const params = new URLSearchParams();
    for (const key of FILTERS) if (filters[key] !== undefined) params.set(key, filters[key]);
    for (const [key, value] of Object.entries(extra)) if (value !== null && value !== undefined) params.set(key, value);
    return params.toString();
  }

  function apply() {
    const filters = filtersFromForm();
    const query = queryString(filters);
    if (query !== queryString(state.filters)) {
      history.pushState(null, '', query ? `?${query}` : location.pathname);
    }
    state.filters = filters;
    loadGrid(true);
  }

  const applySoon = debounce(apply, 350);

  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  for (const key of ['dataset', 'source', 'model']) form.elements[key].addEventListener('change', apply);
  form.elements.class.addEventListener('input', applySoon);
  form.elements.class.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); apply(); } });
  form.elements.minScoreRange.addEventListener('input', () => {
    form.elements.minScore.value = Number(form.elements.minScoreRange.value) === 0 ? '' : form.elements.minScoreRange.value;
    applySoon();
  });
  form.elements.minScore.addEventListener('input', () => {
    form.elements.minScoreRange.value = form.elements.minScore.value || '0';
    applySoon();
  });
  $('[data-testid="filter-reset"]').addEventListener('click', () => { setForm({}); apply(); });
  form.elements.labels.addEventListener('change', () => {
    document.body.classList.toggle('hide-labels', !form.elements.labels.checked);
  });
  window.addEventListener('popstate', () => {
    state.filters = filtersFromUrl();
    setForm(state.filters);
    loadGrid(true);
  });

  // ---- boxes over an image -------------------------------------------------------------------

  /** Tiles show a cached thumbnail this many pixels on the long side (twice the tile, for sharp high-DPI screens). */
  const THUMBNAIL_SIZE = 512;

  /**
   * Fills a stage (a box the image's shape) with the image and its boxes, positioned in percent.
   * A thumbnail is used only when the image's size is stored: the boxes are in original pixels and a
   * thumbnail's natural size would not place them.
   */
  function renderStage(stage, image, boxes, { alt, lazy, thumbnail }) {
    stage.replaceChildren();
    const id = encodeURIComponent(image.id);
    const src = thumbnail && image.width > 0 && image.height > 0
      ? `/api/images/${id}/thumbnail?size=${THUMBNAIL_SIZE}`
      : `/api/images/${id}/content`;
    const img = el('img', { src, alt, loading: lazy ? 'lazy' : null, decoding: 'async', draggable: 'false' });
    stage.append(img);
    const layer = el('span', { className: 'boxes' });
    stage.append(layer);
    const place = (width, height) => {
      stage.style.setProperty('--ar', `${width} / ${height}`);
      stage.style.setProperty('--arn', String(width / height));
      layer.replaceChildren(...boxElements(boxes, width, height));
    };
    if (image.width > 0 && image.height > 0) {
      place(image.width, image.height);
    } else {
      // Size not stored: place the boxes once the browser knows it.
      img.addEventListener('load', () => place(img.naturalWidth, img.naturalHeight), { once: true });
    }
    img.addEventListener('error', () => stage.classList.add('broken'), { once: true });
    return layer;
  }

  function boxElements(boxes, width, height) {
    const pct = (v, of) => `${Math.min(100, Math.max(0, (v / of) * 100)).toFixed(3)}%`;
    // Larger boxes first so that smaller ones lie on top and can still be hovered.
    const ordered = [...boxes].sort((a, b) => (b.x2 - b.x1) * (b.y2 - b.y1) - (a.x2 - a.x1) * (a.y2 - a.y1));
    return ordered.map((box) => {
      const source = sourceName(box.source);
      const score = formatScore(box.score);
      const text = score ? `${box.className} ${score}` : box.className;
      const node = el('span', {
        className: `box src-${SOURCES.includes(source) ? source : 'other'}${box.y1 / height < 0.08 ? ' label-inside' : ''}`,
        'data-testid': 'review-box',
        'data-box-id': box.boxId,
        'data-class': box.className,
        'data-score': box.score ?? '',
        'data-source': source,
        title: `${text} · ${source}${box.modelVersion ? ' · ' + box.modelVersion : ''}`,
      }, el('span', { className: 'box-label' }, text));
      node.style.left = pct(box.x1, width);
      node.style.top = pct(box.y1, height);
      node.style.width = pct(box.x2 - box.x1, width);
      node.style.height = pct(box.y2 - box.y1, height);
      node.style.setProperty('--c', classColour(box.className));
      return node;
    });
  }

  // ---- the grid ------------------------------------------------------------------------------

  function describe(image, boxes) {
    const counts = new Map();
    for (const box of boxes) counts.set(box.className, (counts.get(box.className) ?? 0) + 1);
    return { counts, text: [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ') };
  }

  function card(entry, index) {
    const { image, dataset, boxes } = entry;
    const { counts, text } = describe(image, boxes);
    const name = fileName(image.blobPath);
    const stage = el('span', { className: 'stage' });
    const thumb = el('button', {
      type: 'button',
      className: 'thumb',
      'aria-label': `Open ${name}: ${plural(boxes.length, 'box', 'boxes')}${text ? ' (' + text + ')' : ''}`,
    }, stage);
    renderStage(stage, image, boxes, { alt: `${name}, ${dataset}${text ? ': ' + text : ''}`, lazy: index > 8, thumbnail: true });
    thumb.addEventListener('click', () => openViewer(index));

    const chips = el('span', { className: 'chips' });
    for (const [className, n] of counts) {
      const chip = el('span', { className: 'chip' }, n > 1 ? `${className} ${n}` : className);
      chip.style.setProperty('--c', classColour(className));
      chips.append(chip);
      if (!state.classes.has(className)) {
        state.classes.add(className);
        $('#class-names').append(el('option', { value: className }));
      }
    }

    return el('article', {
      className: 'card',
      'data-testid': 'review-card',
      'data-image-id': image.id,
      'data-path': image.blobPath,
    },
    thumb,
    el('div', { className: 'caption' },
      el('span', { className: 'path', title: image.blobPath }, el('span', { className: 'dir' }, folderOf(image.blobPath) ? folderOf(image.blobPath) + '/' : ''), name),
      el('span', { className: 'line' },
        el('span', { className: 'count', 'data-testid': 'card-box-count' }, plural(boxes.length, 'box', 'boxes')),
        chips)));
  }

  function showError(message) {
    errorBox.hidden = !message;
    errorBox.textContent = message ?? '';
  }

  function markInvalid(detail) {
    for (const key of FILTERS) {
      const invalid = detail.startsWith(key + ' ') || detail.startsWith(key + ':');
      form.elements[key].toggleAttribute('aria-invalid', invalid);
    }
  }

  async function loadGrid(reset) {
    state.request?.abort();
    const controller = new AbortController();
    state.request = controller;
    const generation = ++state.generation;
    if (reset) {
      state.images = [];
      state.after = null;
      grid.replaceChildren();
      grid.setAttribute('aria-busy', 'true');
      refresh.hidden = true;
      summary.textContent = 'Loading…';
    }
    loadMore.disabled = true;
    const url = `/api/review?${queryString(state.filters, { after: state.after, limit: PAGE_SIZE })}`;
    try {
      const page = await getJson(url, controller.signal);
      if (generation !== state.generation) return;
      showError(null);
      markInvalid('');
      const start = state.images.length;
      state.images.push(...page.images);
      grid.append(...page.images.map((entry, i) => card(entry, start + i)));
      state.after = page.nextAfterImageId ?? null;
      if (reset) state.boxesAtLoad = state.lastProgress?.boxes ?? null;
      empty.hidden = state.images.length > 0;
      loadMore.hidden = state.after === null;
      const boxes = state.images.reduce((n, e) => n + e.boxes.length, 0);
      summary.textContent = state.images.length === 0
        ? ''
        : `${plural(state.images.length, 'image')} with ${plural(boxes, 'matching box', 'matching boxes')}${state.after === null ? '' : ' · more below'}`;
    } catch (e) {
      if (e.name === 'AbortError' || generation !== state.generation) return;
      showError(`Could not load images: ${e.message}`);
      markInvalid(e.message);
      empty.hidden = true;
      summary.textContent = '';
      loadMore.hidden = state.after === null || state.images.length === 0;
    } finally {
      if (generation === state.generation) {
        grid.removeAttribute('aria-busy');
        loadMore.disabled = false;
        state.request = null;
      }
    }
  }

  loadMore.addEventListener('click', () => loadGrid(false));
  refresh.addEventListener('click', () => loadGrid(true));

  // ---- progress ------------------------------------------------------------------------------

  function setStat(id, value, title) {
    const node = $(`[data-testid="progress-${id}"]`);
    node.textContent = typeof value === 'number' ? numberFormat.format(value) : value;
    if (title) node.title = title; else node.removeAttribute('title');
    return node;
  }

  function renderProgress(p) {
    setStat('images', p.images);
    setStat('pending', p.pending + p.queued, `${p.pending} pending, ${p.queued} queued`).classList.toggle('active', p.pending + p.queued > 0);
    setStat('labelled', p.labelled);
    setStat('failed', p.failed).classList.toggle('bad', p.failed > 0);
    setStat('boxes', p.boxes);
    // The workers of this host could not load the active model and label with the previous one: say so in red.
    const failed = p.modelLoadFailure && p.modelLoadFailure.version === p.activeModel ? p.modelLoadFailure : null;
    const model = setStat('model', failed ? `${p.activeModel} (failed to load; labelling with ${p.modelInUse ?? 'none'})` : p.activeModel ?? 'none',
      failed ? failed.reason : undefined);
    model.classList.toggle('warn', !p.activeModel);
    model.classList.toggle('bad', !!failed);
    setStat('queue', p.queueDepth ?? 'unavailable').classList.toggle('bad', p.queueDepth === null || p.queueDepth === undefined);
    const bar = $('[data-testid="progress-bar"]');
    const total = Math.max(1, p.images);
    bar.children[0].style.width = `${(p.labelled / total) * 100}%`;
    bar.children[1].style.width = `${((p.pending + p.queued) / total) * 100}%`;
    bar.children[2].style.width = `${(p.failed / total) * 100}%`;
    bar.setAttribute('aria-label', p.images === 0 ? 'No images yet'
      : `${Math.round((p.labelled / p.images) * 100)}% labelled, ${p.pending + p.queued} waiting, ${p.failed} failed`);
    renderDemo(p.demo);
    const at = new Date(p.at);
    $('[data-testid="progress-updated"]').textContent = `updated ${at.toLocaleTimeString('en-GB')}`;
    $('[data-testid="progress-updated"]').classList.remove('bad');
    const select = form.elements.dataset;
    for (const d of p.datasets) ensureOption(select, d.dataset);
    for (const option of select.options) {
      const d = p.datasets.find((x) => x.dataset === option.value);
      if (d) option.textContent = `${d.dataset} (${numberFormat.format(d.images)} images, ${numberFormat.format(d.boxes)} boxes)`;
    }
  }

  // The host's bootstrap demo job, when one ran in this process: its stage while it runs, then the outcome.
  function renderDemo(demo) {
    const node = $('[data-testid="progress-demo"]');
    node.hidden = !demo;
    if (!demo) return;
    const stage = `${demo.stageIndex + 1}/${demo.stageCount} ${demo.stage ?? ''}`;
    node.textContent = demo.state === 'running'
      ? `Bootstrap demo ${Math.round(demo.fraction * 100)}%: ${stage}, ${demo.detail ?? ''}`
      : demo.state === 'finished'
        ? `Bootstrap demo finished: ${demo.detail ?? ''}`
        : `Bootstrap demo failed at ${stage}: ${demo.error ?? ''}`;
    node.classList.toggle('bad', demo.state === 'failed');
  }

  async function pollProgress() {
    if (!document.hidden) {
      try {
        const p = await getJson('/api/progress');
        state.lastProgress = p;
        renderProgress(p);
        if (state.request !== null) {
          // A grid load is in flight: it records the count it saw when it lands.
        } else if (state.boxesAtLoad === null) {
          state.boxesAtLoad = p.boxes; // the grid landed before the first progress
        } else if (p.boxes !== state.boxesAtLoad && errorBox.hidden) {
          // Labels arrived since the grid was loaded: an empty grid reloads itself, a full one offers to.
          if (state.images.length === 0) loadGrid(true);
          else refresh.hidden = false;
        }
      } catch (e) {
        const node = $('[data-testid="progress-updated"]');
        node.textContent = `progress unavailable: ${e.message}`;
        node.classList.add('bad');
      }
    }
    setTimeout(pollProgress, PROGRESS_EVERY_MS);
  }

  async function loadModels() {
    try {
      const models = await getJson('/api/models');
      const select = form.elements.model;
      for (const m of models) {
        state.models.set(m.id, m);
        const label = m.status === 'active' ? `${m.version} (active)` : `${m.version} (${m.status})`;
        const existing = [...select.options].find((o) => o.value === m.version);
        if (existing) existing.textContent = label; else select.append(el('option', { value: m.version }, label));
      }
      select.value = state.filters.model ?? '';
    } catch { /* the filter still takes a version typed into the URL */ }
  }

  async function loadDatasets() {
    try {
      const datasets = await getJson('/api/datasets');
      for (const d of datasets) ensureOption(form.elements.dataset, d.dataset);
      form.elements.dataset.value = state.filters.dataset ?? '';
    } catch { /* progress fills the list too */ }
  }

  // ---- the full-size viewer ------------------------------------------------------------------

  const viewerStage = $('.viewer-stage', viewer);
  const viewerList = $('[data-testid="modal-box-list"]', viewer);
  const allBoxes = $('[data-act="all-boxes"]', viewer);

  function linkHover(layer) {
    const rows = new Map([...viewerList.rows].map((r) => [r.dataset.boxId, r]));
    for (const box of layer.querySelectorAll('.box')) {
      const row = rows.get(box.dataset.boxId);
      if (!row) continue;
      const on = () => { box.classList.add('hl'); row.classList.add('hl'); layer.classList.add('has-hl'); };
      const off = () => { box.classList.remove('hl'); row.classList.remove('hl'); layer.classList.remove('has-hl'); };
      for (const node of [box, row]) {
        node.addEventListener('mouseenter', on);
        node.addEventListener('mouseleave', off);
      }
      row.addEventListener('focus', on);
      row.addEventListener('blur', off);
    }
  }

  function renderViewerBoxes(entry, boxes) {
    const name = fileName(entry.image.blobPath);
    const { text } = describe(entry.image, boxes);
    viewerList.replaceChildren(...[...boxes]
      .sort((a, b) => (b.score ?? 2) - (a.score ?? 2))
      .map((box) => {
        const swatch = el('span', { className: 'dot' });
        swatch.style.setProperty('--c', classColour(box.className));
        return el('tr', { 'data-testid': 'modal-box-row', 'data-box-id': box.boxId, tabindex: '0' },
          el('td', {}, swatch, box.className),
          el('td', { className: 'num' }, box.score === null || box.score === undefined ? '—' : Number(box.score).toFixed(3)),
          el('td', {}, el('span', { className: `src-tag src-${sourceName(box.source)}` }, sourceName(box.source))),
          el('td', {}, box.modelVersion ?? '—'),
          el('td', { className: 'num coords' }, [box.x1, box.y1, box.x2, box.y2].map((v) => Math.round(v)).join(', ')));
      }));
    if (boxes.length === 0) viewerList.append(el('tr', {}, el('td', { colspan: '5', className: 'muted' }, 'No boxes.')));
    const layer = renderStage(viewerStage, entry.image, boxes, { alt: `${name}${text ? ': ' + text : ''}`, lazy: false });
    // Boxes are placed at once when the size is stored, else after the image loads.
    if (layer.children.length > 0) linkHover(layer);
    else viewerStage.querySelector('img').addEventListener('load', () => linkHover(layer), { once: true });
  }

  function decodedSize() {
    const img = viewerStage.querySelector('img');
    return img?.naturalWidth ? `${img.naturalWidth} × ${img.naturalHeight} (decoded; not stored)` : 'not stored';
  }

  function renderViewerMeta(entry, details) {
    const { image, dataset } = entry;
    const model = image.labelledByModelId ? state.models.get(image.labelledByModelId)?.version ?? `#${image.labelledByModelId}` : '—';
    const rows = [
      ['Image', `#${image.id}`],
      ['Dataset', dataset],
      ['Path', image.blobPath],
      ['Size', image.width && image.height ? `${image.width} × ${image.height}` : decodedSize()],
      ['Split', image.split ?? '—'],
      ['Status', sourceName(image.status)],
      ['Labelled by', model],
      ['Hash', image.contentHash.slice(0, 16)],
    ];
    if (image.lastError) rows.push(['Last error', image.lastError]);
    $('[data-testid="modal-meta"]', viewer).replaceChildren(...rows.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', { title: v }, v))));
    const tags = $('[data-testid="modal-tags"]', viewer);
    tags.replaceChildren();
    if (details) {
      tags.append(el('span', { className: 'muted' }, 'Tags: '));
      if (details.tags.length === 0) tags.append(el('span', { className: 'muted' }, 'none'));
      for (const tag of details.tags) {
        const chip = el('span', { className: `chip tag-${sourceName(tag.state)}`, title: `tag ${tag.className}: ${sourceName(tag.state)}` }, `${tag.className} · ${sourceName(tag.state)}`);
        chip.style.setProperty('--c', classColour(tag.className));
        tags.append(chip);
      }
    }
  }

  async function fetchDetails(id) {
    if (!state.details.has(id)) state.details.set(id, getJson(`/api/images/${encodeURIComponent(id)}`).catch((e) => { state.details.delete(id); throw e; }));
    return state.details.get(id);
  }

  async function showViewerEntry() {
    const entry = state.images[state.viewerIndex];
    if (!entry) return;
    const id = entry.image.id;
    $('#viewer-title').textContent = fileName(entry.image.blobPath);
    $('[data-act="original"]', viewer).href = `/api/images/${encodeURIComponent(id)}/content`;
    $('[data-act="json"]', viewer).href = `/api/images/${encodeURIComponent(id)}`;
    $('[data-act="prev"]', viewer).disabled = state.viewerIndex === 0;
    $('[data-act="next"]', viewer).disabled = state.viewerIndex >= state.images.length - 1 && state.after === null;
    viewer.dataset.imageId = id;
    renderViewerBoxes(entry, entry.boxes);
    renderViewerMeta(entry, null);
    if (!(entry.image.width > 0)) {
      viewerStage.querySelector('img').addEventListener('load', () => {
        if (state.images[state.viewerIndex]?.image.id === id) renderViewerMeta(entry, state.detailsLoaded.get(id) ?? null);
      }, { once: true });
    }
    try {
      const details = await fetchDetails(id);
      if (state.viewerIndex < 0 || state.images[state.viewerIndex]?.image.id !== id) return;
      state.detailsLoaded.set(id, details);
      renderViewerMeta(entry, details);
      allBoxes.parentElement.lastChild.textContent = ` All boxes of this image (${details.boxes.length}), not only the ${entry.boxes.length} matching`;
      if (allBoxes.checked) renderViewerBoxes(entry, details.boxes);
    } catch (e) {
      $('[data-testid="modal-tags"]', viewer).replaceChildren(el('span', { className: 'bad' }, `Could not load the image's tags: ${e.message}`));
    }
  }

  function openViewer(index) {
    state.viewerIndex = index;
    if (!viewer.open) viewer.showModal();
    showViewerEntry();
    $('[data-act="close"]', viewer).focus();
  }

  async function step(delta) {
    const target = state.viewerIndex + delta;
    if (target < 0) return;
    if (target >= state.images.length) {
      if (state.after === null) return;
      await loadGrid(false);
      if (target >= state.images.length) return;
    }
    state.viewerIndex = target;
    showViewerEntry();
  }

  viewer.addEventListener('close', () => {
    const card = grid.querySelector(`[data-image-id="${CSS.escape(String(viewer.dataset.imageId ?? ''))}"] .thumb`);
    state.viewerIndex = -1;
    viewerStage.replaceChildren();
    card?.focus();
    card?.scrollIntoView({ block: 'nearest' });
  });
  viewer.addEventListener('click', (e) => { if (e.target === viewer) viewer.close(); });
  viewer.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') { e.preventDefault(); step(-1); }
    if (e.key === 'ArrowRight') { e.preventDefault(); step(1); }
  });
  $('[data-act="close"]', viewer).addEventListener('click', () => viewer.close());
  $('[data-act="prev"]', viewer).addEventListener('click', () => step(-1));
  $('[data-act="next"]', viewer).addEventListener('click', () => step(1));
  allBoxes.addEventListener('change', async () => {
    const entry = state.images[state.viewerIndex];
    if (!entry) return;
    if (!allBoxes.checked) { renderViewerBoxes(entry, entry.boxes); return; }
    try {
      renderViewerBoxes(entry, (await fetchDetails(entry.image.id)).boxes);
    } catch { allBoxes.checked = false; }
  });

  // ---- start ---------------------------------------------------------------------------------

  state.filters = filtersFromUrl();
  setForm(state.filters);
  loadGrid(true);
  loadDatasets();
  loadModels();
  pollProgress();
})();
