import t from 'tap';
import { withoutUserinfo } from '../../src/lib/without-userinfo.js';

t.test('a URL shows where its login was, not the login', async (t) => {
  t.equal(withoutUserinfo('http://proxy-user:proxy-s3cret@stripe.internal:8080/v1?x=1#y'), 'http://…@stripe.internal:8080/v1?x=1#y');
  t.equal(withoutUserinfo('postgresql://tally@db:5432/tally'), 'postgresql://…@db:5432/tally', 'a user alone');
  t.equal(withoutUserinfo('https://api.example/files/a@b'), 'https://api.example/files/a@b', 'no login: unchanged, an @ in the path included');
  t.equal(withoutUserinfo('https://u:p@api.example/files/a@b'), 'https://…@api.example/files/a@b', 'the host stays when the path has an @');
});

t.test('a value that does not parse loses everything up to its last @', async (t) => {
  t.equal(withoutUserinfo('http://proxy-user:pr@xy-s3cret@stripe internal/'), 'http://…@stripe internal/');
  t.equal(withoutUserinfo('not a url'), 'not a url');
});
