// A second, independent OCPP charger for the end-to-end tests: `ocpp-rpc` in
// strict mode validates every message in both directions against its own
// copy of the OCPP 1.6 and 2.0.1 schemas, so a schema slip by the CSMS (or by
// this script) is reported, not silently tolerated.
//
// Usage: node charger.js <ws base url, e.g. ws://127.0.0.1:PORT/ocpp> <1.6 station> <2.0.1 station> <id token>
// After the sessions it prints `{"ready": true}` and answers commands until
// stdin closes; on 2.0.1 it answers GetBaseReport and sends its device model
// (NotifyReport in two parts). Then prints one JSON summary on stdout: per version, the sessions run (transaction
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

// Answer the CSMS's commands, recording each action as it arrives.
function answer(cli, received, handlers) {
  for (const [action, handler] of Object.entries(handlers)) {
    cli.handle(action, (call) => {
      received.push(action);
      return handler(call);
    });
  }
}

async function run16(failures, received) {
  const cli = client(station16, 'ocpp1.6', failures);
  answer(cli, received, {
    RemoteStartTransaction: () => ({ status: 'Accepted' }),
    RemoteStopTransaction: () => ({ status: 'Accepted' }),
    Reset: () => ({ status: 'Accepted' }),
    UnlockConnector: () => ({ status: 'Unlocked' }),
    TriggerMessage: () => ({ status: 'Accepted' }),
    ChangeConfiguration: () => ({ status: 'Accepted' }),
    ChangeAvailability: () => ({ status: 'Accepted' }),
    ClearCache: () => ({ status: 'Accepted' }),
    GetConfiguration: ({ params }) => ({
      configurationKey: (params.key || ['HeartbeatInterval']).map((key) => ({ key, readonly: false, value: '300' })),
    }),
  });
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
  return { cli, result: { boot: boot.status, sessions } };
}

// The RequestStartTransactions answered, run as sessions once commands end.
const remoteStarts = [];

// The 2.0.1 station's device model as it reports it (NotifyReport, in two
// parts); SetVariables changes the values in it.
const variables201 = [
  { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' },
    variableAttribute: [{ type: 'Actual', value: '300', mutability: 'ReadWrite', persistent: true }],
    variableCharacteristics: { unit: 's', dataType: 'integer', minLimit: 1, supportsMonitoring: false } },
  { component: { name: 'EVSE', evse: { id: 1 } }, variable: { name: 'Power' },
    variableAttribute: [{ type: 'Actual', value: '22000', mutability: 'ReadOnly' },
      { type: 'MaxSet', value: '22000', mutability: 'ReadOnly', constant: true }],
    variableCharacteristics: { unit: 'W', dataType: 'decimal', minLimit: 0, maxLimit: 22000, supportsMonitoring: true } },
  { component: { name: 'Connector', evse: { id: 1, connectorId: 1 } }, variable: { name: 'ConnectorType' },
    variableAttribute: [{ value: 'cType2', mutability: 'ReadOnly', constant: true }],
    variableCharacteristics: { dataType: 'string', supportsMonitoring: false } },
  { component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' },
    variableAttribute: [{ mutability: 'WriteOnly' }],
    variableCharacteristics: { dataType: 'string', supportsMonitoring: false } },
];
// requestIds of the GetBaseReport calls answered, and the reports still being sent.
const reports = [];
const reporting = [];

function sameVariable(a, b) {
  return a.component.name === b.component.name && a.variable.name === b.variable.name
    && JSON.stringify(a.component.evse || null) === JSON.stringify(b.component.evse || null);
}

// After the answer to GetBaseReport: the report, in two parts.
async function sendReport(cli, requestId) {
  const generatedAt = now();
  await cli.call('NotifyReport', { requestId, generatedAt, seqNo: 0, tbc: true, reportData: variables201.slice(0, 2) });
  await cli.call('NotifyReport', { requestId, generatedAt, seqNo: 1, tbc: false, reportData: variables201.slice(2) });
}

async function run201(failures, received) {
  const cli = client(station201, 'ocpp2.0.1', failures);
  // Not among `received`: the CSMS asks for it at every boot, unprompted by the test.
  cli.handle('GetBaseReport', ({ params }) => {
    reports.push(params.requestId);
    reporting.push(new Promise((resolve) => setTimeout(resolve, 10))
      .then(() => sendReport(cli, params.requestId))
      .catch((e) => failures.push(`NotifyReport: ${e.name}: ${e.message}`)));
    return { status: 'Accepted' };
  });
  answer(cli, received, {
    RequestStartTransaction: ({ params }) => {
      remoteStarts.push(params);
      return { status: 'Accepted' };
    },
    RequestStopTransaction: () => ({ status: 'Accepted' }),
    Reset: () => ({ status: 'Accepted' }),
    UnlockConnector: () => ({ status: 'Unlocked' }),
    TriggerMessage: () => ({ status: 'Accepted' }),
    ChangeAvailability: () => ({ status: 'Accepted' }),
    ClearCache: () => ({ status: 'Accepted' }),
    GetVariables: ({ params }) => ({
      getVariableResult: params.getVariableData.map((d) => ({
        attributeStatus: 'Accepted', attributeValue: '300', component: d.component, variable: d.variable,
      })),
    }),
    SetVariables: ({ params }) => ({
      setVariableResult: params.setVariableData.map((d) => {
        const known = variables201.find((v) => sameVariable(v, d));
        if (known) known.variableAttribute[0].value = d.attributeValue;
        return { attributeStatus: 'Accepted', component: d.component, variable: d.variable };
      }),
    }),
  });
  await cli.connect();
  const boot = await cli.call('BootNotification', { reason: 'PowerUp', chargingStation: { vendorName: 'NodeTest', model: 'RPC-201' } });
  await cli.call('StatusNotification', { timestamp: now(), connectorStatus: 'Available', evseId: 1, connectorId: 1 });
  const sessions = [];
  for (let n = 1; n <= SESSIONS; n++) {
    sessions.push(await session201(cli, `${station201}-T${n}`, n, { idToken: { idToken: tag, type: 'ISO14443' } }));
  }
  return { cli, result: { boot: boot.status, sessions } };
}

// One 2.0.1 session n: Started (with `start`'s fields), Updated readings, Ended.
async function session201(cli, tx, n, start, transactionInfo = {}) {
  const energy = (wh) => [{ timestamp: now(), sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }];
  let seqNo = 0;
  const event = (eventType, triggerReason, wh, info, rest = {}) => cli.call('TransactionEvent', {
    eventType, timestamp: now(), triggerReason, seqNo: seqNo++,
    transactionInfo: { transactionId: tx, ...info }, meterValue: energy(wh), ...rest,
  });
  await cli.call('StatusNotification', { timestamp: now(), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
  await event('Started', start.idToken ? 'Authorized' : 'RemoteStart', register(n, 0), transactionInfo, { ...start, evse: { id: 1, connectorId: 1 } });
  for (let s = 1; s <= READINGS; s++) await event('Updated', 'MeterValuePeriodic', register(n, s), {});
  await event('Ended', 'StopAuthorized', register(n, READINGS + 1), { stoppedReason: 'Local' });
  await cli.call('StatusNotification', { timestamp: now(), connectorStatus: 'Available', evseId: 1, connectorId: 1 });
  // Started and Ended carry a reading each, besides the Updated ones.
  return { transactionId: tx, meterStartWh: register(n, 0), meterStopWh: register(n, READINGS + 1), readingsWh: steps(n, 0, READINGS + 1) };
}

// After the sessions both stations stay connected and answer commands until
// stdin closes: the test sends them through the API once it reads the
// `{"ready": true}` line, then closes stdin to get the summary.
(async () => {
  const failures = [];
  const out = { failures };
  const clients = [];
  try {
    for (const [version, run] of [['1.6', run16], ['2.0.1', run201]]) {
      const received = [];
      const { cli, result } = await run(failures, received);
      clients.push(cli);
      out[version] = { ...result, commands: received };
    }
    console.log(JSON.stringify({ ready: true }));
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.on('end', resolve));
    // Like some real stations: the remote start's session leaves the id
    // token out and names the request by its remoteStartId (issue 14, 6).
    for (const [i, req] of remoteStarts.entries()) {
      const s = await session201(clients[1], `${station201}-R${i + 1}`, SESSIONS + 1 + i, {}, { remoteStartId: req.remoteStartId });
      out['2.0.1'].sessions.push({ ...s, idToken: req.idToken.idToken });
    }
    await Promise.all(reporting);
    out['2.0.1'].reports = reports;
    for (const cli of clients) await cli.close();
  } catch (e) {
    failures.push(`${e.name}: ${e.message}`);
  }
  console.log(JSON.stringify(out));
  process.exit(failures.length ? 1 : 0);
})();
