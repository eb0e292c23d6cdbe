import { takeUndocumentedAnswers } from '../../src/shared/http/answer-check';

/**
 * Runs in every test file (Jest's setupFilesAfterEnv): an API answer whose status or media type its route
 * does not document (so neither does the OpenAPI document) fails the test that caused it. The app under
 * test records such answers when `checkResponses` is on; each worker process has its own record.
 */
function failOnUndocumentedAnswers(): void {
  const answers = takeUndocumentedAnswers();
  if (answers.length > 0) {
    throw new Error(
      `The API gave answers its route definitions do not document (add them to the route's \`errors\` or \`response.alternatives\`, or fix the route):\n${answers
        .map((answer) => `  ${answer.operationId}: ${answer.status} ${answer.mediaType || '(no content type)'}`)
        .join('\n')}`,
    );
  }
}

afterEach(failOnUndocumentedAnswers);
afterAll(failOnUndocumentedAnswers);
