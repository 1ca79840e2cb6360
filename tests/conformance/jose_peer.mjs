// The npm package `jose` as a peer for syncctl's token conformance tests.
//   gen ALG DIR                 key pair: DIR/jose-ALG.key.pem (PKCS#8), DIR/jose-ALG.jwks
//   sign ALG DIR SUB AUD        a token signed with DIR/jose-ALG.key.pem, kid jose-ALG
//   verify TOKEN JWKSFILE AUD   "ok SUB" and exit 0, or "fail MESSAGE" and exit 1
//   hs-sign ALG SECRETFILE SUB AUD / hs-verify ALG TOKEN SECRETFILE AUD
import * as jose from 'jose';
import { readFileSync, writeFileSync } from 'node:fs';

const [cmd, ...args] = process.argv.slice(2);
const secret = (file) => new TextEncoder().encode(readFileSync(file, 'utf8').replace(/\r?\n$/, ''));

async function main() {
  switch (cmd) {
    case 'gen': {
      const [alg, dir] = args;
      const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
      writeFileSync(`${dir}/jose-${alg}.key.pem`, await jose.exportPKCS8(privateKey), { mode: 0o600 });
      const jwk = await jose.exportJWK(publicKey);
      writeFileSync(`${dir}/jose-${alg}.jwks`, JSON.stringify({ keys: [{ ...jwk, kid: `jose-${alg}`, alg, use: 'sig' }] }));
      return 0;
    }
    case 'sign': {
      const [alg, dir, sub, aud] = args;
      const key = await jose.importPKCS8(readFileSync(`${dir}/jose-${alg}.key.pem`, 'utf8'), alg);
      const token = await new jose.SignJWT({})
        .setProtectedHeader({ alg, kid: `jose-${alg}` })
        .setSubject(sub).setAudience(aud).setIssuedAt().setExpirationTime('5m')
        .sign(key);
      console.log(token);
      return 0;
    }
    case 'verify': {
      const [token, jwksFile, aud] = args;
      const jwks = jose.createLocalJWKSet(JSON.parse(readFileSync(jwksFile, 'utf8')));
      try {
        const { payload } = await jose.jwtVerify(token, jwks, { audience: aud });
        console.log(`ok ${payload.sub}`);
        return 0;
      } catch (e) {
        console.log(`fail ${e.message}`);
        return 1;
      }
    }
    case 'hs-sign': {
      const [alg, file, sub, aud] = args;
      console.log(await new jose.SignJWT({}).setProtectedHeader({ alg })
        .setSubject(sub).setAudience(aud).setIssuedAt().setExpirationTime('5m').sign(secret(file)));
      return 0;
    }
    case 'hs-verify': {
      const [alg, token, file, aud] = args;
      try {
        const { payload } = await jose.jwtVerify(token, secret(file), { audience: aud, algorithms: [alg] });
        console.log(`ok ${payload.sub}`);
        return 0;
      } catch (e) {
        console.log(`fail ${e.message}`);
        return 1;
      }
    }
  }
  console.error(`jose_peer: unknown command ${cmd}`);
  return 2;
}

process.exitCode = await main();
