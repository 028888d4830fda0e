// viz/attention_html.cpp — one self-contained HTML page showing every attention map (layer x head):
// a thumbnail grid, a large view of the selected head with token labels, and a hover read-out.
// The weights are embedded as JSON (4 significant digits); no external files or scripts.
#include <attn/viz.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"

namespace attn {
namespace {

constexpr const char* kPage = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>@TITLE@</title>
<style>
body{background:#181818;color:#ddd;font:14px system-ui,sans-serif;margin:16px}
h1{font-size:18px;margin:0 0 8px}
#grid{display:grid;gap:10px;margin-bottom:16px}
.thumb{cursor:pointer;text-align:center;font-size:12px}
.thumb canvas{border:2px solid #333;image-rendering:pixelated}
.thumb.sel canvas{border-color:#fde725}
#info{height:20px;font-family:monospace;margin:8px 0}
#big{image-rendering:pixelated}
</style></head><body>
<h1>@TITLE@</h1>
<div>Rows are queries, columns keys; colour is the weight (viridis, 0 to the map's maximum). Click a head; hover a cell.</div>
<div id="grid"></div>
<div id="info"></div>
<canvas id="big"></canvas>
<script>
const D = @DATA@;
const stops=[[68,1,84],[71,44,122],[59,82,139],[44,113,142],[33,145,140],[39,173,129],[92,200,99],[170,220,50],[253,231,37]];
function color(t){t=Math.max(0,Math.min(1,t||0));const x=t*8,i=Math.min(7,Math.floor(x)),f=x-i;
  return stops[i].map((c,k)=>Math.round(c+f*(stops[i+1][k]-c)));}
function paint(cv,m,cell,ox,oy){const g=cv.getContext('2d');let vmax=0;for(const v of m.w)vmax=Math.max(vmax,v);if(vmax<=0)vmax=1;
  for(let i=0;i<m.T;i++)for(let j=0;j<m.S;j++){const c=color(m.w[i*m.S+j]/vmax);g.fillStyle=`rgb(${c})`;g.fillRect(ox+j*cell,oy+i*cell,cell,cell);}
  return vmax;}
const layers=[...new Set(D.maps.map(m=>m.layer))].sort((a,b)=>a-b);
const heads=[...new Set(D.maps.map(m=>m.head))].sort((a,b)=>a-b);
const grid=document.getElementById('grid');grid.style.gridTemplateColumns=`repeat(${heads.length},max-content)`;
let sel=0;const thumbs=[];
D.maps.forEach((m,idx)=>{const d=document.createElement('div');d.className='thumb';const cv=document.createElement('canvas');
  const cell=Math.max(1,Math.floor(96/Math.max(m.T,m.S)));cv.width=m.S*cell;cv.height=m.T*cell;paint(cv,m,cell,0,0);
  d.appendChild(cv);d.appendChild(document.createElement('br'));d.appendChild(document.createTextNode(`layer ${m.layer} head ${m.head}`));
  d.onclick=()=>show(idx);grid.appendChild(d);thumbs.push(d);});
const big=document.getElementById('big'),info=document.getElementById('info');
function lab(a,i){return a&&a.length?a[i]:String(i);}
let geo={};
function show(idx){sel=idx;thumbs.forEach((t,k)=>t.classList.toggle('sel',k==idx));const m=D.maps[idx];
  const g=big.getContext('2d');g.font='12px monospace';
  const lw=Math.max(20,...(D.rows||[]).map(s=>g.measureText(s).width))+8, th=Math.max(20,...(D.cols||[]).map(s=>g.measureText(s).width))+8;
  const cell=Math.max(2,Math.min(32,Math.floor(720/Math.max(m.T,m.S))));
  big.width=lw+m.S*cell+70;big.height=th+m.T*cell+10;const g2=big.getContext('2d');g2.fillStyle='#181818';g2.fillRect(0,0,big.width,big.height);
  const vmax=paint(big,m,cell,lw,th);g2.fillStyle='#ddd';g2.font='12px monospace';
  if(cell>=10){for(let i=0;i<m.T;i++){const s=lab(D.rows,i);g2.fillText(s,lw-6-g2.measureText(s).width,th+i*cell+cell*0.75);}
    for(let j=0;j<m.S;j++){g2.save();g2.translate(lw+j*cell+cell*0.75,th-6);g2.rotate(-Math.PI/2);g2.fillText(lab(D.cols,j),0,0);g2.restore();}}
  const bx=lw+m.S*cell+10;for(let y=0;y<m.T*cell;y++){const c=color(1-y/(m.T*cell-1));g2.fillStyle=`rgb(${c})`;g2.fillRect(bx,th+y,12,1);}
  g2.fillStyle='#ddd';g2.fillText(vmax.toFixed(3),bx+16,th+10);g2.fillText('0',bx+16,th+m.T*cell);
  geo={lw,th,cell,m};}
big.onmousemove=e=>{const r=big.getBoundingClientRect(),x=e.clientX-r.left,y=e.clientY-r.top;const {lw,th,cell,m}=geo;
  const j=Math.floor((x-lw)/cell),i=Math.floor((y-th)/cell);
  info.textContent=(i>=0&&j>=0&&i<m.T&&j<m.S)?`layer ${m.layer} head ${m.head}: query ${i} "${lab(D.rows,i)}" -> key ${j} "${lab(D.cols,j)}": ${m.w[i*m.S+j].toFixed(4)}`:'';};
show(0);
</script></body></html>
)HTML";

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) s.replace(pos, from.size(), to);
}

}  // namespace

void write_attention_html(const std::string& path, const std::vector<AttentionMap>& maps, const HeatmapStyle& style) {
  ATTN_CHECK(!maps.empty(), ValueError, "write_attention_html {}: no attention maps given", path);
  nlohmann::json data;
  data["rows"] = style.row_labels;
  data["cols"] = style.col_labels;
  data["maps"] = nlohmann::json::array();
  for (const AttentionMap& m : maps) {
    ATTN_CHECK(m.weights.dim() == 2, ShapeError, "write_attention_html: layer {} head {}: weights must be [T,S], got {}",
               m.layer, m.head, m.weights.str());
    const int64_t T = m.weights.size(0), S = m.weights.size(1);
    ATTN_CHECK(style.row_labels.empty() || static_cast<int64_t>(style.row_labels.size()) == T, ShapeError,
               "write_attention_html: {} row labels for {} rows", style.row_labels.size(), T);
    ATTN_CHECK(style.col_labels.empty() || static_cast<int64_t>(style.col_labels.size()) == S, ShapeError,
               "write_attention_html: {} column labels for {} columns", style.col_labels.size(), S);
    std::vector<double> w;
    for (float x : m.weights.to_vector()) w.push_back(std::isfinite(x) ? std::round(x * 1e4) / 1e4 : 0.0);
    data["maps"].push_back({{"layer", m.layer}, {"head", m.head}, {"T", T}, {"S", S}, {"w", w}});
  }
  // Labels are user text: JSON-escape them, and keep "</" from closing the script element.
  std::string json = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  replace_all(json, "</", "<\\/");
  std::string page = kPage;
  replace_all(page, "@TITLE@", html_escape(style.title.empty() ? "attention" : style.title));
  replace_all(page, "@DATA@", json);
  write_file_atomic(path, std::span(reinterpret_cast<const std::byte*>(page.data()), page.size()));
}

}  // namespace attn
