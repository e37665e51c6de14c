// Accessibility check of one HTML file: axe-core (WCAG 2.0/2.1 A and AA) in headless Chromium,
// then the reflow at 320 px (WCAG 1.4.10) and 1280 px measured by the page's scroll width.
// Usage: node axe_check.js <file.html> <chromium> [screenshot-prefix]
// Prints one JSON object: {violations: [...], widths: {320: {scroll, client}, ...}}.
const path = require('path');
const puppeteer = require('puppeteer-core');
const axeSource = require('fs').readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

(async () => {
  const [file, chromium, shots] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: 'new',
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-default-apps', '--disable-sync',
           '--no-first-run', '--host-resolver-rules=MAP * ~NOTFOUND'],
  });
  try {
    const page = await browser.newPage();
    const url = 'file://' + path.resolve(file);
    const widths = {};
    for (const width of [320, 390, 1280]) {
      await page.setViewport({width, height: 800});
      await page.goto(url, {waitUntil: 'load'});
      widths[width] = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      if (shots) await page.screenshot({path: `${shots}-${width}.png`, fullPage: false});
    }
    await page.setViewport({width: 1280, height: 800});
    await page.goto(url, {waitUntil: 'load'});
    await page.addScriptTag({content: axeSource});
    const result = await page.evaluate(async () => await axe.run(document, {
      runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
    }));
    const violations = result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary),
    }));
    console.log(JSON.stringify({violations, widths, passes: result.passes.length}));
  } finally {
    await browser.close();
  }
})().catch(err => { console.error(err); process.exit(2); });
