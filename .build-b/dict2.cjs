const express = require('express'); const http = require('http');
const S = Symbol('slot'); const T = Symbol('t'); const key = process.env.KEY || 'user';
const app = express();
app.get('/', (req, res) => {
  const r = [];
  r.push(%HasFastProperties(req));
  if (process.env.MODE === 'named') { req.user = 1; }
  else if (process.env.MODE === 'define') { Object.defineProperty(req, S, { value: 1, writable: true, configurable: true }); }
  else { req[key] = 1; r.push(%HasFastProperties(req)); req[S] = 1; r.push(%HasFastProperties(req)); req[T] = 1; }
  r.push(%HasFastProperties(req), Object.keys(req).length);
  res.json(r);
});
const s = app.listen(0, async () => { for (let i = 0; i < 3; i++) { const b = await (await fetch('http://127.0.0.1:' + s.address().port + '/')).text(); console.log(process.env.MODE || 'keyed', b); } s.close(); });
