/** A dependency-free API reference page rendered in the browser from /openapi.json. */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Strata API</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}code{background:#f3f3f3;padding:0 .3em}
.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.6rem}.m{font-weight:700;text-transform:uppercase;margin-right:.5rem}
pre{background:#f7f7f7;padding:.5rem;overflow:auto;max-height:20rem}</style></head>
<body><h1>Strata API</h1><p>Send <code>Authorization: Bearer &lt;token&gt;</code>. The machine-readable document is <a href="/openapi.json">/openapi.json</a>.</p>
<div id="ops">Loading…</div>
<script>
fetch("/openapi.json").then(r=>r.json()).then(doc=>{
  const ops=document.getElementById("ops");ops.textContent="";
  for(const [p,methods] of Object.entries(doc.paths)){for(const [m,op] of Object.entries(methods)){
    const d=document.createElement("details");d.className="op";
    const s=document.createElement("summary");s.innerHTML='<span class="m"></span><code></code> — <span></span>';
    s.children[0].textContent=m;s.children[1].textContent=p;s.children[2].textContent=op.summary+" (role: "+op["x-strata-role"]+")";
    const pre=document.createElement("pre");pre.textContent=JSON.stringify({parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,2);
    d.append(s,pre);ops.append(d);}}
});
</script></body></html>`;
}
