
(function () {
  const data = JSON.parse(document.getElementById('explorer-data').textContent);
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const plot = document.getElementById('plot');
  const select = (id) => document.getElementById(id);
  const n = data.colours.length;
  const zeros = new Array(n).fill(0);
  const column = (c, d) => (d === null ? zeros : c.dims[d]);
  const dimOf = (value) => (value === 'none' ? null : Number(value));
  const view = () => ['x', 'y', 'z'].map((a) => dimOf(select('dim-' + a).value));
  const axisTitle = (d) => (d === null ? 'none (0)' : 'dim ' + d);

  // Circles of latitude and meridians around y (up), the poles at y = ±1.
  function sphere() {
    const x = [], y = [], z = [], steps = 72;
    for (let i = 1; i < 6; i++) {
      const lat = -Math.PI / 2 + (i * Math.PI) / 6;
      for (let k = 0; k <= steps; k++) {
        const t = (2 * Math.PI * k) / steps;
        x.push(Math.cos(lat) * Math.cos(t)); z.push(Math.cos(lat) * Math.sin(t)); y.push(Math.sin(lat));
      }
      x.push(null); y.push(null); z.push(null);
    }
    for (let j = 0; j < 6; j++) {
      const lon = (j * Math.PI) / 6;
      for (let k = 0; k <= steps; k++) {
        const t = (2 * Math.PI * k) / steps;
        x.push(Math.cos(t) * Math.cos(lon)); z.push(Math.cos(t) * Math.sin(lon)); y.push(Math.sin(t));
      }
      x.push(null); y.push(null); z.push(null);
    }
    return { type: 'scatter3d', mode: 'lines', x: x, y: y, z: z, name: 'unit sphere', hoverinfo: 'skip',
      line: { color: css('--wire'), width: 1.5 }, showlegend: false };
  }

  const v = data.view;
  const traces = [sphere()].concat(data.conditions.map((c) => ({
    type: 'scatter3d', mode: 'markers', name: c.label, visible: c.name === data.initial,
    x: column(c, v[0]), y: column(c, v[1]), z: column(c, v[2]),
    text: c.hover.map((h, i) => data.truth[i] + '<br>' + h),
    hovertemplate: '<b>' + c.label + '</b><br>%{text}<extra></extra>',
    marker: { size: 3, color: data.colours, line: { width: 0 }, opacity: 1 },
    showlegend: false,
  })));
  const range = [-data.extent, data.extent];
  const axis = (d) => ({ title: { text: axisTitle(d) }, range: range, zeroline: false,
    backgroundcolor: css('--plot-bg'), gridcolor: css('--grid'), showspikes: false });
  const layout = {
    margin: { l: 0, r: 0, t: 0, b: 0 }, uirevision: 'keep', paper_bgcolor: css('--paper'), font: { color: css('--ink') },
    hoverlabel: { bgcolor: css('--panel'), font: { family: 'monospace', size: 12, color: css('--ink') } },
    scene: { aspectmode: 'manual', aspectratio: { x: 1.35, y: 1.35, z: 1.35 }, xaxis: axis(v[0]), yaxis: axis(v[1]), zaxis: axis(v[2]),
      // as the static latent figures: x across, y up, z towards the viewer (turned a little to show depth)
      camera: { up: { x: 0, y: 1, z: 0 }, eye: { x: 0.62, y: 0.46, z: 1.24 }, projection: { type: 'orthographic' } } },
  };
  Plotly.newPlot(plot, traces, layout, { responsive: true, displaylogo: false });

  function note() {
    const c = data.conditions.find((c) => c.name === select('condition').value);
    const w = view();
    const gone = c.removed.filter((d) => w.includes(d)).map((d) => 'dim ' + d + ' (on ' + 'xyz'[w.indexOf(d)] + ')');
    let text = c.label + ': per-colour MSE over these ' + n.toLocaleString('en-US') + ' colours, mean ' + c.mean_mse.toPrecision(3) +
      ', max ' + c.max_mse.toPrecision(3) + '.';
    if (c.note) text += ' ' + c.note;
    if (gone.length) text += ' Shown removed: ' + gone.join(', ') + ', flat at 0.';
    select('note').textContent = text;
    document.querySelectorAll('button.preset').forEach((b) => {
      b.classList.toggle('active', JSON.stringify(JSON.parse(b.dataset.view)) === JSON.stringify(view()));
    });
  }

  function redraw() {
    const w = view();
    const idx = data.conditions.map((_, i) => i + 1);
    Plotly.restyle(plot, {
      x: data.conditions.map((c) => column(c, w[0])),
      y: data.conditions.map((c) => column(c, w[1])),
      z: data.conditions.map((c) => column(c, w[2])),
    }, idx);
    Plotly.relayout(plot, { 'scene.xaxis.title.text': axisTitle(w[0]), 'scene.yaxis.title.text': axisTitle(w[1]),
      'scene.zaxis.title.text': axisTitle(w[2]) });
    note();
  }

  // Choosing a dim another axis shows swaps the two, so the three stay distinct.
  let previous = view();
  ['x', 'y', 'z'].forEach((a, i) => select('dim-' + a).addEventListener('change', () => {
    const w = view();
    if (w[i] !== null) {
      ['x', 'y', 'z'].forEach((b, j) => {
        if (j !== i && w[j] === w[i]) select('dim-' + b).value = previous[i] === null ? 'none' : String(previous[i]);
      });
    }
    previous = view();
    redraw();
  }));
  document.querySelectorAll('button.preset').forEach((b) => b.addEventListener('click', () => {
    JSON.parse(b.dataset.view).forEach((d, i) => { select('dim-' + 'xyz'[i]).value = d === null ? 'none' : String(d); });
    previous = view();
    redraw();
  }));
  select('condition').addEventListener('change', () => {
    const name = select('condition').value;
    Plotly.restyle(plot, { visible: data.conditions.map((c) => c.name === name) },
      data.conditions.map((_, i) => i + 1));
    note();
  });
  note();
  document.body.dataset.ready = 'true';
})();
