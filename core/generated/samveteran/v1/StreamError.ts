// Original file: proto/samveteran/v1/sam_env.proto


export interface StreamError {
  'code'?: (number);
  'message'?: (string);
}

export interface StreamError__Output {
  'code': (number);
  'message': (string);
}
