// A second, independent OCPP charger for the end-to-end tests: `ocpp-rpc` in
// strict mode validates every message in both directions against its own
// copy of the OCPP 1.6 and 2.0.1 schemas, so a schema slip by the CSMS (or by
// this script) is reported, not silently tolerated.
//
// Usage: node charger.js <ws base url, e.g. ws://127.0.0.1:PORT/ocpp> <1.6 station> <2.0.1 station> <id token>
// Prints one JSON summary on stdout: per version, the sessions run (transaction
// id, meter start/stop in Wh, the energy readings sent in meter values) and every strict-mode failure.
// Exits 1 on any failure.
'use strict';

const { RPCClient } = require('ocpp-rpc');

const SESSIONS = 3;
const READINGS = 4; // meter values during a session, besides start and stop

const [base, station16, station201, tag] = process.argv.slice(2);
if (!base || !station16 || !station201 || !tag) {
  console.error('usage: node charger.js <ws base url> <1.6 station> <2.0.1 station> <id token>');
  process.exit(2);
}

const now = () => new Date().toISOString();

function client(identity, protocol, failures) {
  const cli = new RPCClient({ endpoint: base, identity, protocols: [protocol], strictMode: true });
  // Strict mode answers an invalid incoming call with a CALLERROR and reports it here.
  cli.on('strictValidationFailure', (e) => failures.push(`${protocol} ${identity}: ${e.error && e.error.message}`));
  return cli;
}

// Known energy: session n starts at a register of n * 10 kWh and adds 250 Wh + 37 Wh per reading.
function register(session, step) {
  return session * 10000 + step * 287;
}

// The readings of session n from step `from` to step `to`, as stored meter values must show them.
function steps(session, from, to) {
  const out = [];
  for (let s = from; s <= to; s++) out.push(register(session, s));
  return out;
}

async function run16(failures) {
  const cli = client(station16, 'ocpp1.6', failures);
  cli.handle('RemoteStartTransaction', () => ({ status: 'Accepted' }));
  cli.handle('RemoteStopTransaction', () => ({ status: 'Accepted' }));
  cli.handle('Reset', () => ({ status: 'Accepted' }));
  cli.handle('UnlockConnector', () => ({ status: 'Unlocked' }));
  cli.handle('TriggerMessage', () => ({ status: 'Accepted' }));
  cli.handle('ChangeConfiguration', () => ({ status: 'Accepted' }));
  cli.handle('GetConfiguration', () => ({ configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }] }));
  await cli.connect();
  const boot = await cli.call('BootNotification', { chargePointVendor: 'NodeTest', chargePointModel: 'RPC-16' });
  const sessions = [];
  await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: now() });
  for (let n = 1; n <= SESSIONS; n++) {
    await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: now() });
    const meterStart = register(n, 0);
    const started = await cli.call('StartTransaction', { connectorId: 1, idTag: tag, meterStart, timestamp: now() });
    const tx = started.transactionId;
    for (let s = 1; s <= READINGS; s++) {
      await cli.call('MeterValues', {
        connectorId: 1, transactionId: tx,
        meterValue: [{ timestamp: now(), sampledValue: [{ value: String(register(n, s)), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }],
      });
    }
    const meterStop = register(n, READINGS + 1);
    await cli.call('StopTransaction', { transactionId: tx, idTag: tag, meterStop, timestamp: now(), reason: 'Local' });
    await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: now() });
    sessions.push({ transactionId: String(tx), meterStartWh: meterStart, meterStopWh: meterStop, readingsWh: steps(n, 1, READINGS) });
  }
  await cli.close();
  return { boot: boot.status, sessions };
}

async function run201(failures) {
  const cli = client(station201, 'ocpp2.0.1', failures);
  cli.handle('RequestStartTransaction', () => ({ status: 'Accepted' }));
  cli.handle('RequestStopTransaction', () => ({ status: 'Accepted' }));
  cli.handle('Reset', () => ({ status: 'Accepted' }));
  cli.handle('UnlockConnector', () => ({ status: 'Unlocked' }));
  cli.handle('TriggerMessage', () => ({ status: 'Accepted' }));
  await cli.connect();
  const boot = await cli.call('BootNotification', { reason: 'PowerUp', chargingStation: { vendorName: 'NodeTest', model: 'RPC-201' } });
  await cli.call('StatusNotification', { timestamp: now(), connectorStatus: 'Available', evseId: 1, connectorId: 1 });
  const sessions = [];
  const energy = (wh) => [{ timestamp: now(), sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }];
  for (let n = 1; n <= SESSIONS; n++) {
    const tx = `${station201}-T${n}`;
    let seqNo = 0;
    const event = (eventType, triggerReason, wh, extra = {}) => cli.call('TransactionEvent', {
      eventType, timestamp: now(), triggerReason, seqNo: seqNo++,
      transactionInfo: { transactionId: tx, ...(extra.transactionInfo || {}) },
      meterValue: energy(wh), ...(extra.rest || {}),
    });
    await cli.call('StatusNotification', { timestamp: now(), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
    await event('Started', 'Authorized', register(n, 0), { rest: { idToken: { idToken: tag, type: 'ISO14443' }, evse: { id: 1, connectorId: 1 } } });
    for (let s = 1; s <= READINGS; s++) await event('Updated', 'MeterValuePeriodic', register(n, s));
    await event('Ended', 'StopAuthorized', register(n, READINGS + 1), { transactionInfo: { stoppedReason: 'Local' } });
    await cli.call('StatusNotification', { timestamp: now(), connectorStatus: 'Available', evseId: 1, connectorId: 1 });
    // Started and Ended carry a reading each, besides the Updated ones.
    sessions.push({ transactionId: tx, meterStartWh: register(n, 0), meterStopWh: register(n, READINGS + 1), readingsWh: steps(n, 0, READINGS + 1) });
  }
  await cli.close();
  return { boot: boot.status, sessions };
}

(async () => {
  const failures = [];
  const out = { failures };
  try {
    out['1.6'] = await run16(failures);
    out['2.0.1'] = await run201(failures);
  } catch (e) {
    failures.push(`${e.name}: ${e.message}`);
  }
  console.log(JSON.stringify(out));
  process.exit(failures.length ? 1 : 0);
})();
