// Drives CountyLink's DICOMweb with dicomweb-client (the library OHIF and many county viewers
// use): STOW-RS the given files, find them with QIDO-RS, fetch them with WADO-RS, and check
// the dataset bytes. Usage: node dicomweb_client_test.mjs URL TOKEN FILE...
import fs from 'node:fs';
import XHR from 'xhr2';
import dicomweb from 'dicomweb-client';

globalThis.XMLHttpRequest = XHR;  // Node has no XMLHttpRequest; dicomweb-client needs one

const [url, token, ...files] = process.argv.slice(2);
const client = new dicomweb.api.DICOMwebClient({
  url,
  headers: { Authorization: `Bearer ${token}` },
});

let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) {
    passed += 1;
  } else {
    failed += 1;
    console.error(`FAIL: ${what}`);
  }
}

// Bytes after the file meta group: preamble (128), "DICM", group length element (12 bytes).
function datasetOf(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const groupLength = view.getUint32(140, true);
  return bytes.subarray(144 + groupLength);
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const originals = files.map((f) => new Uint8Array(fs.readFileSync(f)));
await client.storeInstances({ datasets: originals.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) });

const studies = await client.searchForStudies();
check(studies.length > 0, `QIDO found ${studies.length} studies`);
const instances = await client.searchForInstances();
check(instances.length === files.length, `QIDO found ${instances.length} of ${files.length} instances`);

const value = (attrs, tag) => attrs[tag].Value[0];
for (const inst of instances) {
  const sop = value(inst, '00080018');
  const part10 = await client.retrieveInstance({
    studyInstanceUID: value(inst, '0020000D'),
    seriesInstanceUID: value(inst, '0020000E'),
    sopInstanceUID: sop,
  });
  const got = datasetOf(new Uint8Array(part10));
  const match = originals.some((o) => equalBytes(datasetOf(o), got));
  check(match, `WADO-RS bytes of ${sop} equal a sent file's dataset`);
  const metadata = await client.retrieveInstanceMetadata({
    studyInstanceUID: value(inst, '0020000D'),
    seriesInstanceUID: value(inst, '0020000E'),
    sopInstanceUID: sop,
  });
  check(metadata.length === 1 && value(metadata[0], '00080018') === sop, `metadata of ${sop}`);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
