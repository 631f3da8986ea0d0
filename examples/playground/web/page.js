// The tapegrad Playground page: its controls send settings to the server,
// which trains the network; the page draws the snapshots the server
// streams (server-sent events). No library, no build step.
"use strict";

const DATASETS = {
  classification: [["circle", "Circle"], ["xor", "Exclusive or"], ["gauss", "Gaussian"], ["spiral", "Spiral"]],
  regression: [["plane", "Plane"], ["multigauss", "Multi-Gaussian"]],
};
const FEATURES = [
  ["x1", "X₁"], ["x2", "X₂"], ["x1^2", "X₁²"], ["x2^2", "X₂²"],
  ["x1x2", "X₁X₂"], ["sin(x1)", "sin(X₁)"], ["sin(x2)", "sin(X₂)"],
];
const MAX_LAYERS = 6;
const MAX_WIDTH = 8;

// Playground's defaults, with Task 1's learning rate.
const settings = {
  problem: "classification",
  dataset: "circle",
  noise: 0,
  train_percent: 50,
  batch: 10,
  features: ["x1", "x2"],
  hidden: [4, 2],
  activation: "tanh",
  optimizer: "sgd",
  lr: 0.3,
  regularization: "none",
  regularization_rate: 0,
  seed: 1,
  speed: 30,
};

let session = null;
let playing = false;
let last = null;

const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `${response.status}`);
  return answer;
}

function showError(e) {
  $("error").textContent = e ? String(e.message || e) : "";
}

async function start() {
  const { id } = await post("/api/sessions", settings);
  session = id;
  const events = new EventSource(`/api/sessions/${id}/events`);
  events.onmessage = (e) => render(JSON.parse(e.data));
  events.onerror = () => showError("the connection to the server was lost; reload the page");
  window.addEventListener("pagehide", () => navigator.sendBeacon(`/api/sessions/${id}/close`));
}

function command(action) {
  return post(`/api/sessions/${session}/${action}`).catch(showError);
}

function sendSettings() {
  showError(null);
  post(`/api/sessions/${session}/settings`, settings).catch(showError);
  drawNetworkControls();
}

// ---- controls -------------------------------------------------------------

function fillDatasets() {
  const select = $("dataset");
  select.innerHTML = "";
  for (const [value, text] of DATASETS[settings.problem]) {
    const o = new Option(text, value, false, value === settings.dataset);
    select.add(o);
  }
}

function wireControls() {
  $("play").onclick = () => {
    playing = !playing;
    updatePlay();
    command(playing ? "play" : "pause");
  };
  $("step").onclick = () => { playing = false; updatePlay(); command("step"); };
  $("reset").onclick = () => command("reset");
  $("regenerate").onclick = () => { settings.seed += 1; sendSettings(); };
  for (const id of ["lr", "regularization_rate"]) {
    $(id).onchange = () => { settings[id] = Number($(id).value); sendSettings(); };
  }
  for (const id of ["activation", "optimizer", "regularization"]) {
    $(id).onchange = () => { settings[id] = $(id).value; sendSettings(); };
  }
  $("speed").onchange = () => { settings.speed = Number($("speed").value); sendSettings(); };
  $("problem").onchange = () => {
    settings.problem = $("problem").value;
    settings.dataset = DATASETS[settings.problem][0][0];
    fillDatasets();
    sendSettings();
  };
  $("dataset").onchange = () => { settings.dataset = $("dataset").value; sendSettings(); };
  for (const [id, scale] of [["train_percent", 1], ["noise", 100], ["batch", 1]]) {
    $(id).oninput = () => { $(`${id}-value`).textContent = $(id).value; };
    $(id).onchange = () => { settings[id] = Number($(id).value) / scale; sendSettings(); };
  }
  $("show-test").onchange = () => last && drawMap(last);
  const box = $("features");
  for (const [value, text] of FEATURES) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.id = `feature-${value}`;
    input.checked = settings.features.includes(value);
    input.onchange = () => {
      const chosen = FEATURES.map(([v]) => v).filter((v) => $(`feature-${v}`).checked);
      if (chosen.length === 0) { input.checked = true; return; }
      settings.features = chosen;
      sendSettings();
    };
    label.append(input, text);
    box.append(label);
  }
  $("add-layer").onclick = () => {
    if (settings.hidden.length < MAX_LAYERS) { settings.hidden.push(2); sendSettings(); }
  };
  $("remove-layer").onclick = () => {
    if (settings.hidden.length > 0) { settings.hidden.pop(); sendSettings(); }
  };
}

function updatePlay() {
  $("play").textContent = playing ? "❚❚ Pause" : "▶ Play";
}

// one column per hidden layer: its +/− buttons, then a map per unit
function drawNetworkControls() {
  $("layer-count").textContent = settings.hidden.length;
  const layers = $("layers");
  layers.innerHTML = "";
  settings.hidden.forEach((width, l) => {
    const column = document.createElement("div");
    column.className = "layer";
    const title = document.createElement("div");
    title.className = "title";
    const minus = document.createElement("button");
    minus.className = "small";
    minus.textContent = "−";
    minus.onclick = () => { if (width > 1) { settings.hidden[l] -= 1; sendSettings(); } };
    const plus = document.createElement("button");
    plus.className = "small";
    plus.textContent = "+";
    plus.onclick = () => { if (width < MAX_WIDTH) { settings.hidden[l] += 1; sendSettings(); } };
    const text = document.createElement("span");
    text.textContent = `${width} neuron${width === 1 ? "" : "s"}`;
    title.append(minus, text, plus);
    column.append(title);
    for (let j = 0; j < width; j++) {
      const c = document.createElement("canvas");
      c.id = `unit-${l}-${j}`;
      c.width = 20;
      c.height = 20;
      c.title = `layer ${l + 1}, unit ${j + 1}`;
      column.append(c);
    }
    layers.append(column);
  });
}

// ---- drawing --------------------------------------------------------------

// Playground's colours: orange for −1, white for 0, blue for +1
const ORANGE = [245, 147, 34];
const BLUE = [8, 119, 189];
function colour(v) {
  const t = Math.max(-1, Math.min(1, v));
  const [r, g, b] = t < 0 ? ORANGE : BLUE;
  const a = Math.abs(t);
  return [255 + (r - 255) * a, 255 + (g - 255) * a, 255 + (b - 255) * a];
}

function paintGrid(canvas, cells, values, scale) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(cells, cells);
  for (let k = 0; k < cells * cells; k++) {
    const [r, g, b] = colour(scale(values[k]));
    image.data.set([r, g, b, 255], 4 * k);
  }
  const off = document.createElement("canvas");
  off.width = cells;
  off.height = cells;
  off.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function drawMap(s) {
  const canvas = $("map");
  const classes = s.problem === "classification";
  // classification: the probability of class 1 is σ(margin); 2p − 1 = tanh(margin/2)
  const scale = classes ? (m) => Math.tanh(m / 2) : (v) => v;
  paintGrid(canvas, s.map.cells, s.map.values, scale);
  const ctx = canvas.getContext("2d");
  const e = s.map.extent;
  const px = (x) => ((x + e) / (2 * e)) * canvas.width;
  const py = (y) => ((e - y) / (2 * e)) * canvas.height;
  const draw = (points, stroke) => {
    for (const [x, y, v] of points) {
      const [r, g, b] = colour(classes ? (v > 0.5 ? 1 : -1) : v);
      ctx.beginPath();
      ctx.arc(px(x), py(y), 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = stroke;
      ctx.stroke();
    }
  };
  draw(s.train_points, "#fff");
  if ($("show-test").checked) draw(s.test_points, "#000");
  $("bar-low").textContent = classes ? "class 0 (p = 0)" : "−1";
  $("bar-mid").textContent = classes ? "p = ½" : "0";
  $("bar-high").textContent = classes ? "class 1 (p = 1)" : "1";
}

function drawColourBar() {
  const c = $("colorbar");
  const ctx = c.getContext("2d");
  for (let x = 0; x < c.width; x++) {
    const [r, g, b] = colour((x / (c.width - 1)) * 2 - 1);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, 0, 1, c.height);
  }
}

function drawCurve(s) {
  const c = $("curve");
  const ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const { epochs, train, test } = s.curve;
  if (epochs.length < 2) return;
  const top = Math.max(...train, ...test, 1e-9);
  const x = (i) => (epochs[i] / epochs[epochs.length - 1]) * (c.width - 2) + 1;
  const y = (v) => c.height - 2 - (Math.min(v, top) / top) * (c.height - 4);
  for (const [series, colourName] of [[train, "#aaa"], [test, "#000"]]) {
    ctx.beginPath();
    series.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.strokeStyle = colourName;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }
  // the axes in words: loss from 0 to its largest value, epochs 0 to now
  ctx.fillStyle = "#777";
  ctx.font = "10px sans-serif";
  ctx.textAlign = "right";
  ctx.fillText(`loss ${top.toFixed(3)}`, c.width - 2, 10);
  ctx.fillText(`epoch ${epochs[epochs.length - 1]}`, c.width - 2, c.height - 4);
  ctx.textAlign = "left";
  ctx.fillText("0", 2, c.height - 4);
}

function drawUnits(s) {
  s.units.forEach((layer, l) => layer.forEach((values, j) => {
    const canvas = $(`unit-${l}-${j}`);
    if (!canvas) return;
    const top = Math.max(...values.map(Math.abs), 1e-9);
    paintGrid(canvas, s.unit_cells, values, (v) => v / top);
  }));
}

function render(s) {
  last = s;
  $("epoch").textContent = String(s.epoch).padStart(6, "0").replace(/(\d{3})$/, ",$1");
  if (s.error) showError(s.error);
  if (s.map === undefined) return;
  playing = s.playing;
  updatePlay();
  $("test-loss").textContent = s.test_loss.toFixed(4);
  $("train-loss").textContent = s.train_loss.toFixed(4);
  $("accuracy").textContent = s.test_accuracy == null ? "" :
    `accuracy: test ${(100 * s.test_accuracy).toFixed(1)} %, training ${(100 * s.train_accuracy).toFixed(1)} %`;
  $("summary").textContent = s.summary;
  drawMap(s);
  drawCurve(s);
  drawUnits(s);
}

window.addEventListener("DOMContentLoaded", () => {
  fillDatasets();
  wireControls();
  drawNetworkControls();
  drawColourBar();
  start().catch(showError);
});
