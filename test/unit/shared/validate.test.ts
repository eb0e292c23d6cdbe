import { z } from 'zod';
import { ValidationError } from '../../../src/shared/errors';
import { validate } from '../../../src/shared/validate';

const Body = z.strictObject({ email: z.email(), address: z.strictObject({ postalCode: z.string().min(3) }) });

describe('validate', () => {
  test('when the input fits, then the parsed value comes back', () => {
    expect(validate(Body, { email: 'a@example.com', address: { postalCode: '12345' } }, 'body')).toEqual({
      email: 'a@example.com',
      address: { postalCode: '12345' },
    });
  });

  test('when fields are wrong or unknown, then each is named with its place', () => {
    let caught: unknown;
    try {
      validate(Body, { email: 'nope', address: { postalCode: '1', $where: 'x' }, role: 'admin' }, 'body');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const fields = (caught as ValidationError).issues.map((issue) => issue.field).sort();
    expect(fields).toEqual(['body.address.$where', 'body.address.postalCode', 'body.email', 'body.role']);
    expect((caught as ValidationError).status).toBe(400);
  });
});
